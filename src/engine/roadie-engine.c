/* roadie-engine.c: roadie-engine's connectivity, wired together.
 *
 * Frames flow like this:
 *   audio feed (capture | file | demo → analyzer), or test frames
 *              ──▶ hub ENGINE + BROWSER endpoints (as "frame")
 *               ├─▶ DJ relay link, as "dj_frame" with our dj_id
 *               └─▶ visualizer link, while no remote DJ is active
 *   hub "dj-frame" from the active DJ ──▶ ENGINE + BROWSER (as "dj_frame")
 *                                    └─▶ visualizer link
 * Frames go to the outbound links only while they are connected: a frame
 * is stale a few milliseconds later, so queueing it for a reconnect would
 * only replay old music. Control messages (the relay's dj_auth, its
 * heartbeats) are the client's own business.
 *
 * Subscribers of the engine endpoint (the window's link) also get a
 * `stats` message: right after hello, once a second, and promptly (at
 * most every STATS_MIN_INTERVAL_US) when DJs, browsers, the active DJ or
 * an outbound link change. It is the seed's statistics object, then "djs"
 * and "links" for the window's Connections panel.
 *
 * Status lines go to stdout, problems to stderr, each a full line, so the
 * supervisor's log shows them as [STDOUT] / [STDERR]. The relay key is
 * never printed.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "roadie-active-dj.h"
#include "roadie-engine.h"
#include "roadie-error.h"
#include "roadie-protocol.h"
#include "roadie-test-frames.h"
#include "roadie-ws-profile.h"

/* How long shutdown waits for clients to acknowledge the close frame, and
 * how often it looks. */
#define SHUTDOWN_GRACE_US      (50 * 1000)
#define SHUTDOWN_POLL_MS       5

/* A frame clock that fell this far behind (a suspended machine) starts
 * again from now instead of sending a burst of stale frames. */
#define FRAME_CLOCK_RESYNC_US  (G_USEC_PER_SEC / 4)

/* Statistics to engine subscribers: every second, and after a change
 * no sooner than this after the previous message. */
#define STATS_INTERVAL_MS      1000
#define STATS_MIN_INTERVAL_US  (100 * 1000)

/* How often a frame says "no audio" while there is none. */
#define NO_AUDIO_FRAME_INTERVAL_US (G_USEC_PER_SEC / 4)
/* While audio flows the analysis drives the frames; the clock only looks
 * in this often, to notice the audio stopping. */
#define AUDIO_FALLBACK_TICK_US (G_USEC_PER_SEC / 10)

struct _RoadieEngine
{
  GObject               parent_instance;

  RoadieWsHub          *hub;
  gboolean              listening[ROADIE_WS_N_ENDPOINTS];
  RoadieActiveDj       *active_dj;

  RoadieWsClient       *relay;
  char                 *relay_url;
  char                 *dj_id;
  RoadieWsClientState   relay_state;

  RoadieWsClient       *visualizer;
  char                 *visualizer_url;
  RoadieWsClientState   visualizer_state;

  RoadieAudioFeed      *feed;
  gboolean              last_frame_had_audio;
  gint64                last_no_audio_us;
  char                 *dj_frame_prefix;   /* {"type":"dj_frame","dj_id":"…", */

  GSource              *frame_source;
  double                frames_fps;
  gint64                frames_epoch_us;   /* monotonic time of frame 0 since the last resync */
  gint64                last_frame_sent_us;
  guint64               frames_since_epoch;
  guint64               frame_seq;

  guint                 stats_interval_id;
  guint                 stats_soon_id;
  gint64                last_stats_us;

  GTask                *shutdown_task;
  gint64                shutdown_started_us;
  guint                 shutdown_poll_id;
};

G_DEFINE_FINAL_TYPE (RoadieEngine, roadie_engine, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ACTIVE_DJ,
  PROP_RELAY_STATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char * const endpoint_options[ROADIE_WS_N_ENDPOINTS] = {
  [ROADIE_WS_ENDPOINT_ENGINE] = "--port",
  [ROADIE_WS_ENDPOINT_BROWSER] = "--browser-port",
  [ROADIE_WS_ENDPOINT_DJ] = "--dj-port",
};

static void say (const char *format, ...) G_GNUC_PRINTF (1, 2);
static void complain (const char *format, ...) G_GNUC_PRINTF (1, 2);

static void
say (const char *format,
     ...)
{
  va_list args;

  va_start (args, format);
  vprintf (format, args);
  va_end (args);
  putchar ('\n');
  fflush (stdout);
}

static void
complain (const char *format,
          ...)
{
  va_list args;

  fputs ("roadie-engine: ", stderr);
  va_start (args, format);
  vfprintf (stderr, format, args);
  va_end (args);
  fputc ('\n', stderr);
}

/* The host a client on this machine would type. */
static char *
dup_client_host (const char *bind)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (bind);

  if (address == NULL || g_inet_address_get_is_loopback (address) || g_inet_address_get_is_any (address))
    return g_strdup ("localhost");
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]", bind);
  return g_strdup (bind);
}

/* ---- frames out ----------------------------------------------------------- */

static void
broadcast_to_listeners (RoadieEngine *self,
                        const char   *text)
{
  if (self->listening[ROADIE_WS_ENDPOINT_ENGINE])
    roadie_ws_hub_broadcast (self->hub, ROADIE_WS_ENDPOINT_ENGINE, text);
  if (self->listening[ROADIE_WS_ENDPOINT_BROWSER])
    roadie_ws_hub_broadcast (self->hub, ROADIE_WS_ENDPOINT_BROWSER, text);
}

static void
send_to_visualizer (RoadieEngine *self,
                    const char   *text)
{
  if (self->visualizer != NULL && self->visualizer_state == ROADIE_WS_CLIENT_STATE_CONNECTED)
    roadie_ws_client_send_text (self->visualizer, text);
}

static void
send_test_frame (RoadieEngine *self)
{
  double ts = g_get_real_time () / (double) G_USEC_PER_SEC;
  g_autofree char *frame = roadie_test_frame_build (self->frame_seq, self->frames_fps, ts, NULL);

  broadcast_to_listeners (self, frame);

  if (self->relay != NULL && self->relay_state == ROADIE_WS_CLIENT_STATE_CONNECTED)
    {
      g_autofree char *dj_frame = roadie_test_frame_build (self->frame_seq, self->frames_fps, ts, self->dj_id);

      roadie_ws_client_send_text (self->relay, dj_frame);
    }

  /* A remote DJ on stage has the visualizer; our own frames wait. */
  if (roadie_active_dj_get (self->active_dj) == NULL)
    send_to_visualizer (self, frame);

  self->frame_seq++;
}

/* An analysis frame for the relay: the same JSON with the DJ's id. The
 * frame text starts with {"type":"frame", by contract, so the id is spliced
 * in rather than the frame built twice. */
static char *
dj_frame_from_frame (RoadieEngine *self,
                     const char   *frame)
{
  static const char frame_prefix[] = "{\"type\":\"frame\",";

  if (!g_str_has_prefix (frame, frame_prefix))
    return NULL;
  if (self->dj_frame_prefix == NULL)
    {
      g_autoptr(JsonNode) id = json_node_init_string (json_node_alloc (), self->dj_id);
      g_autofree char *quoted = json_to_string (id, FALSE);

      self->dj_frame_prefix = g_strdup_printf ("{\"type\":\"dj_frame\",\"dj_id\":%s,", quoted);
    }
  return g_strconcat (self->dj_frame_prefix, frame + strlen (frame_prefix), NULL);
}

static void
send_audio_frame (RoadieEngine *self)
{
  RoadieAnalysisFrame analysis;
  g_autofree char *frame = NULL;

  roadie_audio_feed_take_frame (self->feed, &analysis);

  /* Silence of a missing source needs saying, not 60 times a second to
   * every browser: a few frames a second keep the displays honest. */
  if (!analysis.has_audio)
    {
      gint64 now = g_get_monotonic_time ();

      if (!self->last_frame_had_audio && now - self->last_no_audio_us < NO_AUDIO_FRAME_INTERVAL_US)
        return;
      self->last_no_audio_us = now;
    }
  self->last_frame_had_audio = analysis.has_audio;

  analysis.seq = self->frame_seq;
  analysis.ts = g_get_real_time () / (double) G_USEC_PER_SEC;
  frame = roadie_analysis_frame_to_json (&analysis);

  /* A remote DJ on stage has the screens (see on_dj_frame): our own
   * frames in between would make every visual flicker between two
   * sources. */
  if (roadie_active_dj_get (self->active_dj) == NULL)
    broadcast_to_listeners (self, frame);

  if (self->relay != NULL && self->relay_state == ROADIE_WS_CLIENT_STATE_CONNECTED)
    {
      g_autofree char *dj_frame = dj_frame_from_frame (self, frame);

      if (dj_frame != NULL)
        roadie_ws_client_send_text (self->relay, dj_frame);
    }

  if (roadie_active_dj_get (self->active_dj) == NULL)
    send_to_visualizer (self, frame);

  self->frame_seq++;
}

static gboolean
frame_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs frame_source_funcs = {
  .dispatch = frame_source_dispatch,
};

/* While audio flows, a frame leaves as soon as new audio is analysed, at
 * most --fps times a second: waiting for a fixed tick would add up to a
 * whole frame period to every kick on its way to the screens. The tick
 * stays for silence (no-audio frames) and as a fallback. */
static void
on_audio_analysed (gpointer user_data)
{
  RoadieEngine *self = user_data;
  gint64 allowed = self->last_frame_sent_us + (gint64) (G_USEC_PER_SEC / self->frames_fps);

  if (self->frame_source != NULL)
    g_source_set_ready_time (self->frame_source, MAX (allowed, g_get_monotonic_time ()));
}

static gboolean
audio_frame_tick (RoadieEngine *self)
{
  gint64 now = g_get_monotonic_time ();

  if (roadie_audio_feed_is_flowing (self->feed))
    {
      /* Nothing new since the last frame: the next hop schedules one. */
      if (roadie_audio_feed_has_news (self->feed))
        {
          send_audio_frame (self);
          self->last_frame_sent_us = now;
        }
      g_source_set_ready_time (self->frame_source, now + AUDIO_FALLBACK_TICK_US);
      return G_SOURCE_CONTINUE;
    }

  send_audio_frame (self);
  self->last_frame_sent_us = now;
  g_source_set_ready_time (self->frame_source, now + (gint64) (G_USEC_PER_SEC / self->frames_fps));
  return G_SOURCE_CONTINUE;
}

static gboolean
frame_tick (gpointer user_data)
{
  RoadieEngine *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 next;

  if (self->feed != NULL)
    return audio_frame_tick (self);

  send_test_frame (self);

  /* Frame n is due at epoch + n / fps: no drift from rounding a period
   * to milliseconds, and a late tick does not push the later ones. */
  self->frames_since_epoch++;
  next = self->frames_epoch_us + (gint64) (self->frames_since_epoch * G_USEC_PER_SEC / self->frames_fps);
  if (now - next > FRAME_CLOCK_RESYNC_US)
    {
      self->frames_epoch_us = now;
      self->frames_since_epoch = 0;
      next = now;
    }
  g_source_set_ready_time (self->frame_source, next);

  return G_SOURCE_CONTINUE;
}

static void
start_frames (RoadieEngine *self,
              double        fps)
{
  self->frames_fps = fps;
  self->frames_epoch_us = g_get_monotonic_time ();
  self->frames_since_epoch = 0;
  self->frame_source = g_source_new (&frame_source_funcs, sizeof (GSource));
  g_source_set_name (self->frame_source, "[roadie-engine] frames");
  g_source_set_callback (self->frame_source, frame_tick, self, NULL);
  g_source_set_ready_time (self->frame_source, self->frames_epoch_us);
  g_source_attach (self->frame_source, NULL);
  if (self->feed != NULL)
    roadie_audio_feed_set_analysed_func (self->feed, on_audio_analysed, self);
}

static void
stop_frames (RoadieEngine *self)
{
  if (self->frame_source == NULL)
    return;
  if (self->feed != NULL)
    roadie_audio_feed_set_analysed_func (self->feed, NULL, NULL);
  g_source_destroy (self->frame_source);
  g_clear_pointer (&self->frame_source, g_source_unref);
}

/* ---- statistics for engine subscribers ------------------------------------ */

typedef struct
{
  JsonArray  *djs;
  const char *active;
} DjList;

static void
add_dj (const char *dj_id,
        const char *dj_name,
        gpointer    user_data)
{
  DjList *list = user_data;
  JsonObject *dj = json_object_new ();

  json_object_set_string_member (dj, "dj_id", dj_id);
  if (dj_name != NULL)
    json_object_set_string_member (dj, "dj_name", dj_name);
  else
    json_object_set_null_member (dj, "dj_name");
  json_object_set_boolean_member (dj, "active", g_strcmp0 (dj_id, list->active) == 0);
  json_array_add_object_element (list->djs, dj);
}

/* {"url","state","next_retry_ms"} of an outbound link, or null when it is
 * not configured. next_retry_ms is null unless the link waits to retry. */
static JsonNode *
build_link (RoadieWsClient *client,
            const char     *url)
{
  JsonObject *link;
  JsonNode *node;
  gint64 next_retry_ms;

  if (client == NULL)
    return json_node_new (JSON_NODE_NULL);

  link = json_object_new ();
  next_retry_ms = roadie_ws_client_get_next_attempt_in_ms (client);
  json_object_set_string_member (link, "url", url);
  json_object_set_string_member (link, "state",
                                 roadie_ws_client_state_to_string (roadie_ws_client_get_state (client)));
  if (next_retry_ms >= 0)
    json_object_set_int_member (link, "next_retry_ms", next_retry_ms);
  else
    json_object_set_null_member (link, "next_retry_ms");
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, link);
  return node;
}

static char *
build_stats_message (RoadieEngine *self)
{
  g_autoptr(JsonNode) stats = roadie_ws_hub_build_stats (self->hub);
  JsonObject *object = json_node_get_object (stats);
  JsonObject *links = json_object_new ();
  DjList list = { json_array_new (), roadie_active_dj_get (self->active_dj) };

  roadie_ws_hub_foreach_dj (self->hub, add_dj, &list);
  json_object_set_array_member (object, "djs", list.djs);
  json_object_set_member (links, "visualizer", build_link (self->visualizer, self->visualizer_url));
  json_object_set_member (links, "relay", build_link (self->relay, self->relay_url));
  json_object_set_object_member (object, "links", links);

  return roadie_message_stats (stats);
}

static char *
stats_welcome (RoadieWsHub *hub,
               gpointer     user_data)
{
  return build_stats_message (user_data);
}

static void
send_stats (RoadieEngine *self)
{
  g_autofree char *text = NULL;

  self->last_stats_us = g_get_monotonic_time ();
  if (!self->listening[ROADIE_WS_ENDPOINT_ENGINE]
      || roadie_ws_hub_get_n_clients (self->hub, ROADIE_WS_ENDPOINT_ENGINE) == 0)
    return;
  text = build_stats_message (self);
  roadie_ws_hub_broadcast (self->hub, ROADIE_WS_ENDPOINT_ENGINE, text);
}

static gboolean
stats_interval_tick (gpointer user_data)
{
  send_stats (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
stats_soon_due (gpointer user_data)
{
  RoadieEngine *self = user_data;

  self->stats_soon_id = 0;
  send_stats (self);
  return G_SOURCE_REMOVE;
}

/* Something the Connections panel shows changed: tell subscribers soon,
 * one message for a burst of changes. */
static void
stats_changed (RoadieEngine *self)
{
  gint64 wait_us;

  if (self->stats_interval_id == 0 || self->stats_soon_id != 0)
    return;
  wait_us = self->last_stats_us + STATS_MIN_INTERVAL_US - g_get_monotonic_time ();
  self->stats_soon_id = g_timeout_add (CLAMP (wait_us, 0, STATS_MIN_INTERVAL_US) / 1000, stats_soon_due, self);
  g_source_set_name_by_id (self->stats_soon_id, "[roadie-engine] stats soon");
}

static void
on_clients_changed (RoadieWsHub *hub,
                    guint        endpoint,
                    gpointer     user_data)
{
  /* Engine subscribers are not in the statistics; DJs come through
   * dj-connected / dj-disconnected. */
  if (endpoint == ROADIE_WS_ENDPOINT_BROWSER)
    stats_changed (user_data);
}

static void
start_stats (RoadieEngine *self)
{
  roadie_ws_hub_set_welcome (self->hub, ROADIE_WS_ENDPOINT_ENGINE, stats_welcome, self);
  g_signal_connect (self->hub, "clients-changed", G_CALLBACK (on_clients_changed), self);
  self->last_stats_us = g_get_monotonic_time ();
  self->stats_interval_id = g_timeout_add (STATS_INTERVAL_MS, stats_interval_tick, self);
  g_source_set_name_by_id (self->stats_interval_id, "[roadie-engine] stats");
}

static void
stop_stats (RoadieEngine *self)
{
  if (self->hub != NULL)
    roadie_ws_hub_set_welcome (self->hub, ROADIE_WS_ENDPOINT_ENGINE, NULL, NULL);
  g_clear_handle_id (&self->stats_interval_id, g_source_remove);
  g_clear_handle_id (&self->stats_soon_id, g_source_remove);
}

/* ---- the VJ-server role: remote DJs in ----------------------------------- */

static void
active_dj_changed (RoadieEngine *self,
                   const char   *why)
{
  const char *active = roadie_active_dj_get (self->active_dj);

  if (active != NULL)
    say ("Active DJ: %s (%s)", active, why);
  else
    say ("No active DJ (%s)", why);
  stats_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACTIVE_DJ]);
}

static void
on_dj_connected (RoadieWsHub *hub,
                 const char  *dj_id,
                 const char  *dj_name,
                 gpointer     user_data)
{
  RoadieEngine *self = user_data;

  if (roadie_active_dj_connected (self->active_dj, dj_id))
    active_dj_changed (self, "the most recent DJ to connect");
  stats_changed (self);
}

static void
on_dj_disconnected (RoadieWsHub *hub,
                    const char  *dj_id,
                    gpointer     user_data)
{
  RoadieEngine *self = user_data;

  if (roadie_active_dj_disconnected (self->active_dj, dj_id))
    active_dj_changed (self, "the active DJ left");
  stats_changed (self);
}

static void
on_set_active_dj (RoadieWsHub *hub,
                  const char  *dj_id,
                  gpointer     user_data)
{
  RoadieEngine *self = user_data;

  if (roadie_active_dj_choose (self->active_dj, dj_id))
    active_dj_changed (self, "chosen by an admin");
}

/* The frame as browsers get it: "dj_frame", the id the DJ authenticated
 * with (not whatever the frame claims), then the DJ's fields. */
static char *
build_rebroadcast (const char *dj_id,
                   JsonObject *frame)
{
  g_autoptr(JsonObject) out = json_object_new ();
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(GList) members = json_object_get_members (frame);

  json_object_set_string_member (out, "type", "dj_frame");
  json_object_set_string_member (out, "dj_id", dj_id);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;

      if (g_strcmp0 (name, "type") == 0 || g_strcmp0 (name, "dj_id") == 0)
        continue;
      json_object_set_member (out, name, json_node_copy (json_object_get_member (frame, name)));
    }
  json_node_set_object (root, out);

  return json_to_string (root, FALSE);
}

static void
on_dj_frame (RoadieWsHub *hub,
             const char  *dj_id,
             JsonObject  *frame,
             gpointer     user_data)
{
  RoadieEngine *self = user_data;
  g_autofree char *text = NULL;

  if (g_strcmp0 (dj_id, roadie_active_dj_get (self->active_dj)) != 0)
    return;

  text = build_rebroadcast (dj_id, frame);
  broadcast_to_listeners (self, text);
  send_to_visualizer (self, text);
}

/* ---- outbound links -------------------------------------------------------- */

static void
on_relay_state (RoadieWsClient *client,
                GParamSpec     *pspec,
                gpointer        user_data)
{
  RoadieEngine *self = user_data;
  RoadieWsClientState state = roadie_ws_client_get_state (client);

  if (state == self->relay_state)
    return;
  self->relay_state = state;

  switch (state)
    {
    case ROADIE_WS_CLIENT_STATE_CONNECTED:
      say ("DJ relay: connected to %s as %s", self->relay_url, self->dj_id);
      break;

    case ROADIE_WS_CLIENT_STATE_BACKOFF:
      {
        gint64 next_us = 0;

        g_object_get (client, "next-attempt-us", &next_us, NULL);
        say ("DJ relay: %s is not answering; next attempt in %.1f s", self->relay_url,
             MAX (0, next_us - g_get_monotonic_time ()) / (double) G_USEC_PER_SEC);
      }
      break;

    case ROADIE_WS_CLIENT_STATE_AUTH_FAILED:
      {
        g_autofree char *reason = NULL;

        g_object_get (client, "auth-failure-reason", &reason, NULL);
        complain ("DJ relay auth-failed: %s refused %s (%s); not trying again: check the DJ id and key",
                  self->relay_url, self->dj_id, reason != NULL ? reason : "authentication failed");
      }
      break;

    case ROADIE_WS_CLIENT_STATE_GAVE_UP:
      complain ("DJ relay: gave up on %s; restart roadie-engine to try again", self->relay_url);
      break;

    case ROADIE_WS_CLIENT_STATE_DISCONNECTED:
    case ROADIE_WS_CLIENT_STATE_CONNECTING:
    case ROADIE_WS_CLIENT_STATE_CLOSED:
    default:
      break;
    }

  stats_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RELAY_STATE]);
}

static void
update_mc_statistics (RoadieEngine *self)
{
  gboolean connected = self->visualizer_state == ROADIE_WS_CLIENT_STATE_CONNECTED;
  guint reconnects = 0;

  g_object_get (self->visualizer, "reconnect-count", &reconnects, NULL);
  g_object_set (self->hub,
                "mc-connected", connected,
                "mc-reconnect-count", reconnects,
                NULL);
  /* The relay tells the VJ server whether our visualizer is up. */
  if (self->relay != NULL)
    g_object_set (self->relay, "mc-connected", connected, NULL);
}

static void
on_visualizer_state (RoadieWsClient *client,
                     GParamSpec     *pspec,
                     gpointer        user_data)
{
  RoadieEngine *self = user_data;
  RoadieWsClientState state = roadie_ws_client_get_state (client);

  if (state == self->visualizer_state)
    return;
  if (state == ROADIE_WS_CLIENT_STATE_CONNECTED)
    say ("Visualizer: connected to %s", self->visualizer_url);
  else if (self->visualizer_state == ROADIE_WS_CLIENT_STATE_CONNECTED)
    say ("Visualizer: lost %s; reconnecting", self->visualizer_url);
  self->visualizer_state = state;

  update_mc_statistics (self);
  stats_changed (self);
}

static void
on_visualizer_reconnects (RoadieWsClient *client,
                          GParamSpec     *pspec,
                          gpointer        user_data)
{
  update_mc_statistics (user_data);
  stats_changed (user_data);
}

static void
start_visualizer (RoadieEngine *self,
                  const char   *url)
{
  self->visualizer_url = g_strdup (url);
  self->visualizer = roadie_ws_client_new (url);
  roadie_ws_profile_apply_defaults (ROADIE_WS_PROFILE_VISUALIZER, self->visualizer);
  /* The defaults carry the profile's usual address too. */
  g_object_set (self->visualizer, "url", url, NULL);
  self->visualizer_state = roadie_ws_client_get_state (self->visualizer);
  g_signal_connect (self->visualizer, "notify::state", G_CALLBACK (on_visualizer_state), self);
  g_signal_connect (self->visualizer, "notify::reconnect-count", G_CALLBACK (on_visualizer_reconnects), self);
  update_mc_statistics (self);
  roadie_ws_client_connect (self->visualizer);
}

static void
start_relay (RoadieEngine *self,
             const char   *url,
             const char   *dj_id,
             const char   *dj_name,
             const char   *dj_key)
{
  g_autofree char *auth = roadie_message_dj_auth (dj_id, dj_name, dj_key);

  self->relay_url = g_strdup (url);
  self->dj_id = g_strdup (dj_id);
  self->relay = roadie_ws_client_new (url);
  roadie_ws_profile_apply_defaults (ROADIE_WS_PROFILE_DJ_RELAY, self->relay);
  g_object_set (self->relay,
                "url", url,
                "auth-message", auth,
                "mc-connected", self->visualizer_state == ROADIE_WS_CLIENT_STATE_CONNECTED,
                NULL);
  explicit_bzero (auth, strlen (auth));
  self->relay_state = roadie_ws_client_get_state (self->relay);
  g_signal_connect (self->relay, "notify::state", G_CALLBACK (on_relay_state), self);
  say ("DJ relay: relaying to %s as %s", url, dj_id);
  roadie_ws_client_connect (self->relay);
}

static void
close_links (RoadieEngine *self)
{
  if (self->relay != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->relay, self);
      roadie_ws_client_close (self->relay);
    }
  if (self->visualizer != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->visualizer, self);
      roadie_ws_client_close (self->visualizer);
    }
}

/* ---- listening ----------------------------------------------------------- */

static gboolean
listen_endpoint (RoadieEngine      *self,
                 RoadieWsEndpoint   endpoint,
                 const char        *bind,
                 guint              port,
                 GError           **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *listen_bind = g_ascii_strcasecmp (bind, "localhost") == 0 ? "127.0.0.1" : bind;

  if (roadie_ws_hub_listen (self->hub, endpoint, listen_bind, port, &local_error))
    {
      self->listening[endpoint] = TRUE;
      return TRUE;
    }

  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE)
      || g_error_matches (local_error, ROADIE_ERROR, ROADIE_ERROR_PORT_IN_USE))
    g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_PORT_IN_USE,
                 "port %u on %s is already in use; stop the other program or pass %s",
                 port, listen_bind, endpoint_options[endpoint]);
  else
    g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_FAILED,
                 "cannot listen on %s port %u (%s): %s",
                 listen_bind, port, endpoint_options[endpoint], local_error->message);
  return FALSE;
}

gboolean
roadie_engine_start (RoadieEngine               *self,
                     const RoadieEngineOptions  *options,
                     GError                    **error)
{
  g_autofree char *host = NULL;

  g_return_val_if_fail (ROADIE_IS_ENGINE (self), FALSE);
  g_return_val_if_fail (options != NULL, FALSE);

  if (options->dj_keys_path != NULL && options->dj_port != 0)
    {
      g_autoptr(RoadieDjKeys) keys = roadie_dj_keys_load (options->dj_keys_path, error);

      if (keys == NULL)
        return FALSE;
      roadie_ws_hub_set_dj_keys (self->hub, keys);
    }
  if (options->max_clients > 0)
    g_object_set (self->hub, "max-clients", (guint) options->max_clients, NULL);

  if (!listen_endpoint (self, ROADIE_WS_ENDPOINT_ENGINE, options->bind, options->port, error)
      || (options->browser_port != 0
          && !listen_endpoint (self, ROADIE_WS_ENDPOINT_BROWSER, options->bind, options->browser_port, error))
      || (options->dj_port != 0
          && !listen_endpoint (self, ROADIE_WS_ENDPOINT_DJ, options->bind, options->dj_port, error)))
    {
      roadie_ws_hub_shutdown (self->hub);
      return FALSE;
    }

  /* The seed's start-up lines first, verbatim: the supervisor and the
   * tests read them. */
  host = dup_client_host (options->bind);
  say ("WebSocket server listening on port %u", roadie_engine_get_port (self, ROADIE_WS_ENDPOINT_ENGINE));
  say ("✓ WebSocket server started on ws://%s:%u", host, roadie_engine_get_port (self, ROADIE_WS_ENDPOINT_ENGINE));
  if (self->listening[ROADIE_WS_ENDPOINT_BROWSER])
    say ("Browser broadcast on ws://%s:%u", host, roadie_engine_get_port (self, ROADIE_WS_ENDPOINT_BROWSER));
  if (self->listening[ROADIE_WS_ENDPOINT_DJ])
    {
      say ("Remote DJs on ws://%s:%u", host, roadie_engine_get_port (self, ROADIE_WS_ENDPOINT_DJ));
      if (options->dj_keys_path == NULL)
        say ("No --dj-keys file: every remote DJ will be refused");
    }

  g_signal_connect (self->hub, "dj-connected", G_CALLBACK (on_dj_connected), self);
  g_signal_connect (self->hub, "dj-disconnected", G_CALLBACK (on_dj_disconnected), self);
  g_signal_connect (self->hub, "dj-frame", G_CALLBACK (on_dj_frame), self);
  g_signal_connect (self->hub, "set-active-dj", G_CALLBACK (on_set_active_dj), self);
  start_stats (self);

  /* The visualizer first, so the relay's first heartbeat already knows
   * whether it is up. */
  if (options->visualizer_url != NULL)
    start_visualizer (self, options->visualizer_url);
  if (options->relay_to != NULL)
    start_relay (self, options->relay_to, options->dj_id, options->dj_name, options->dj_key);
  if (options->test_frames_fps > 0)
    {
      say ("Test frames: %d per second (synthetic, not audio)", options->test_frames_fps);
      start_frames (self, options->test_frames_fps);
    }
  else if (self->feed != NULL)
    {
      say ("%s; %d frames per second", roadie_audio_feed_describe (self->feed), options->fps);
      roadie_audio_feed_start (self->feed);
      start_frames (self, options->fps);
    }

  return TRUE;
}

/* ---- shutdown ------------------------------------------------------------ */

static guint
count_clients (RoadieEngine *self)
{
  guint n = 0;

  for (guint i = 0; i < ROADIE_WS_N_ENDPOINTS; i++)
    if (self->listening[i])
      n += roadie_ws_hub_get_n_clients (self->hub, i);
  return n;
}

static void
complete_shutdown (RoadieEngine *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->shutdown_task);

  g_clear_handle_id (&self->shutdown_poll_id, g_source_remove);
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

static gboolean
shutdown_poll (gpointer user_data)
{
  RoadieEngine *self = user_data;

  /* At least one turn of the loop always passes, so the close frames
   * that were queued get written before the process goes. */
  if (count_clients (self) == 0
      || g_get_monotonic_time () - self->shutdown_started_us >= SHUTDOWN_GRACE_US)
    {
      self->shutdown_poll_id = 0;
      complete_shutdown (self);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
stop_everything (RoadieEngine *self)
{
  stop_frames (self);
  stop_stats (self);
  g_clear_pointer (&self->feed, roadie_audio_feed_free);
  close_links (self);
  if (self->hub != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->hub, self);
      roadie_ws_hub_shutdown (self->hub);
    }
}

void
roadie_engine_shutdown_async (RoadieEngine        *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (ROADIE_IS_ENGINE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, roadie_engine_shutdown_async);
  if (self->shutdown_task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, "roadie-engine is already shutting down");
      return;
    }

  self->shutdown_task = g_steal_pointer (&task);
  self->shutdown_started_us = g_get_monotonic_time ();
  stop_everything (self);
  self->shutdown_poll_id = g_timeout_add (SHUTDOWN_POLL_MS, shutdown_poll, self);
}

gboolean
roadie_engine_shutdown_finish (RoadieEngine  *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- GObject ------------------------------------------------------------- */

void
roadie_engine_set_audio_feed (RoadieEngine    *self,
                              RoadieAudioFeed *feed)
{
  g_return_if_fail (ROADIE_IS_ENGINE (self));
  g_return_if_fail (self->frame_source == NULL);

  g_clear_pointer (&self->feed, roadie_audio_feed_free);
  self->feed = feed;
}

RoadieWsHub *
roadie_engine_get_hub (RoadieEngine *self)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE (self), NULL);

  return self->hub;
}

guint
roadie_engine_get_port (RoadieEngine     *self,
                        RoadieWsEndpoint  endpoint)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE (self), 0);
  g_return_val_if_fail (endpoint < ROADIE_WS_N_ENDPOINTS, 0);

  if (!self->listening[endpoint])
    return 0;
  return roadie_ws_hub_get_port (self->hub, endpoint);
}

const char *
roadie_engine_get_active_dj (RoadieEngine *self)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE (self), NULL);

  return roadie_active_dj_get (self->active_dj);
}

RoadieWsClientState
roadie_engine_get_relay_state (RoadieEngine *self)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE (self), ROADIE_WS_CLIENT_STATE_DISCONNECTED);

  return self->relay != NULL ? self->relay_state : ROADIE_WS_CLIENT_STATE_DISCONNECTED;
}

static void
roadie_engine_dispose (GObject *object)
{
  RoadieEngine *self = (RoadieEngine *)object;

  stop_everything (self);
  complete_shutdown (self);
  g_clear_object (&self->relay);
  g_clear_object (&self->visualizer);
  g_clear_object (&self->hub);

  G_OBJECT_CLASS (roadie_engine_parent_class)->dispose (object);
}

static void
roadie_engine_finalize (GObject *object)
{
  RoadieEngine *self = (RoadieEngine *)object;

  g_clear_pointer (&self->active_dj, roadie_active_dj_free);
  g_free (self->relay_url);
  g_free (self->dj_id);
  g_free (self->visualizer_url);
  g_free (self->dj_frame_prefix);

  G_OBJECT_CLASS (roadie_engine_parent_class)->finalize (object);
}

static void
roadie_engine_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  RoadieEngine *self = ROADIE_ENGINE (object);

  switch (prop_id)
    {
    case PROP_ACTIVE_DJ:
      g_value_set_string (value, roadie_engine_get_active_dj (self));
      break;

    case PROP_RELAY_STATE:
      g_value_set_enum (value, roadie_engine_get_relay_state (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_engine_class_init (RoadieEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = roadie_engine_dispose;
  object_class->finalize = roadie_engine_finalize;
  object_class->get_property = roadie_engine_get_property;

  properties[PROP_ACTIVE_DJ] =
    g_param_spec_string ("active-dj", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_RELAY_STATE] =
    g_param_spec_enum ("relay-state", NULL, NULL,
                       ROADIE_TYPE_WS_CLIENT_STATE,
                       ROADIE_WS_CLIENT_STATE_DISCONNECTED,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
roadie_engine_init (RoadieEngine *self)
{
  self->hub = roadie_ws_hub_new ();
  g_object_set (self->hub, "server-name", "roadie-engine", NULL);
  self->active_dj = roadie_active_dj_new ();
  self->relay_state = ROADIE_WS_CLIENT_STATE_DISCONNECTED;
  self->visualizer_state = ROADIE_WS_CLIENT_STATE_DISCONNECTED;
}

RoadieEngine *
roadie_engine_new (void)
{
  return g_object_new (ROADIE_TYPE_ENGINE, NULL);
}
