/* roadie-engine-link.c: the window's WebSocket link to the supervised server.
 *
 * A RoadieWsClient is final once closed, so the link makes a new one for
 * every stretch of "the server is up" and drops it when the server goes
 * away: the URL (ws-port) is read again at each start, and a stopped
 * server leaves neither a client nor a timer behind.
 *
 * What the spectrum view can show is decided from what arrives: hello and
 * then frames from roadie-engine (LIVE, or NO_AUDIO when it has nothing to
 * hear); nothing but a connection from a third-party server, which sends
 * no analysis (NOT_ROADIE after NOT_ROADIE_AFTER_US); frames that stop
 * while the connection stays (STALLED after STALLED_AFTER_US). One
 * watchdog timer checks the last two while the link is up, rather than a
 * timer re-armed for each of sixty frames a second.
 */
#include "config.h"

#include <string.h>

#include "roadie-engine-link.h"
#include "roadie-protocol.h"
#include "roadie-ws-profile.h"

#define NOT_ROADIE_AFTER_US  (2 * G_USEC_PER_SEC)
#define STALLED_AFTER_US     (1 * G_USEC_PER_SEC)
#define WATCHDOG_INTERVAL_MS 200

struct _RoadieEngineLink
{
  GObject               parent_instance;

  RoadieSupervisor     *supervisor;
  GSettings            *profile_settings;
  gulong                changed_id;

  RoadieWsClient       *client;
  RoadieWsClientState   link_state;
  char                 *server_name;
  JsonObject           *stats;

  RoadieEngineAnalysis  analysis;
  RoadieLiveFrame       frame;
  gboolean              have_frame;
  gint64                connected_us;
  gint64                last_frame_us;
  guint                 watchdog_id;
};

G_DEFINE_FINAL_TYPE (RoadieEngineLink, roadie_engine_link, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (RoadieEngineAnalysis, roadie_engine_analysis,
  G_DEFINE_ENUM_VALUE (ROADIE_ENGINE_ANALYSIS_DISCONNECTED, "disconnected"),
  G_DEFINE_ENUM_VALUE (ROADIE_ENGINE_ANALYSIS_WAITING, "waiting"),
  G_DEFINE_ENUM_VALUE (ROADIE_ENGINE_ANALYSIS_LIVE, "live"),
  G_DEFINE_ENUM_VALUE (ROADIE_ENGINE_ANALYSIS_NO_AUDIO, "no-audio"),
  G_DEFINE_ENUM_VALUE (ROADIE_ENGINE_ANALYSIS_NOT_ROADIE, "not-roadie"),
  G_DEFINE_ENUM_VALUE (ROADIE_ENGINE_ANALYSIS_STALLED, "stalled"))

enum {
  PROP_0,
  PROP_ANALYSIS,
  PROP_SERVER_NAME,
  PROP_LINK_STATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  FRAME,
  STATS_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

const char *
roadie_engine_analysis_to_string (RoadieEngineAnalysis analysis)
{
  static const char * const names[] = {
    [ROADIE_ENGINE_ANALYSIS_DISCONNECTED] = "disconnected",
    [ROADIE_ENGINE_ANALYSIS_WAITING] = "waiting",
    [ROADIE_ENGINE_ANALYSIS_LIVE] = "live",
    [ROADIE_ENGINE_ANALYSIS_NO_AUDIO] = "no-audio",
    [ROADIE_ENGINE_ANALYSIS_NOT_ROADIE] = "not-roadie",
    [ROADIE_ENGINE_ANALYSIS_STALLED] = "stalled",
  };

  if ((guint) analysis >= G_N_ELEMENTS (names))
    return "unknown";
  return names[analysis];
}

/* ---- small setters that notify only on a real change -------------------- */

static void
set_analysis (RoadieEngineLink     *self,
              RoadieEngineAnalysis  analysis)
{
  if (self->analysis == analysis)
    return;
  self->analysis = analysis;
  g_debug ("Engine link: analysis %s", roadie_engine_analysis_to_string (analysis));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ANALYSIS]);
}

static void
set_server_name (RoadieEngineLink *self,
                 const char       *name)
{
  if (g_strcmp0 (self->server_name, name) == 0)
    return;
  g_free (self->server_name);
  self->server_name = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER_NAME]);
}

static void
set_link_state (RoadieEngineLink    *self,
                RoadieWsClientState  state)
{
  if (self->link_state == state)
    return;
  self->link_state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LINK_STATE]);
}

static void
set_stats (RoadieEngineLink *self,
           JsonObject       *stats)
{
  if (self->stats == NULL && stats == NULL)
    return;
  g_clear_pointer (&self->stats, json_object_unref);
  if (stats != NULL)
    self->stats = json_object_ref (stats);
  g_signal_emit (self, signals[STATS_CHANGED], 0);
}

/* ---- while connected ----------------------------------------------------- */

static gboolean
watchdog_tick (gpointer user_data)
{
  RoadieEngineLink *self = user_data;
  gint64 now = g_get_monotonic_time ();

  if (!self->have_frame)
    {
      if (now - self->connected_us >= NOT_ROADIE_AFTER_US)
        set_analysis (self, ROADIE_ENGINE_ANALYSIS_NOT_ROADIE);
    }
  else if (now - self->last_frame_us > STALLED_AFTER_US)
    set_analysis (self, ROADIE_ENGINE_ANALYSIS_STALLED);

  return G_SOURCE_CONTINUE;
}

static void
link_up (RoadieEngineLink *self)
{
  self->connected_us = g_get_monotonic_time ();
  self->have_frame = FALSE;
  set_analysis (self, ROADIE_ENGINE_ANALYSIS_WAITING);
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  self->watchdog_id = g_timeout_add (WATCHDOG_INTERVAL_MS, watchdog_tick, self);
  g_source_set_name_by_id (self->watchdog_id, "[roadie] engine link watchdog");
}

/* Everything known about the server is forgotten: it may come back as
 * another program. */
static void
link_down (RoadieEngineLink *self)
{
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  self->have_frame = FALSE;
  set_analysis (self, ROADIE_ENGINE_ANALYSIS_DISCONNECTED);
  set_server_name (self, NULL);
  set_stats (self, NULL);
}

static void
take_frame (RoadieEngineLink *self,
            JsonObject       *object)
{
  g_autoptr(GError) error = NULL;
  RoadieLiveFrame frame;

  if (!roadie_live_frame_from_json (&frame, object, &error))
    {
      g_debug ("Engine link: ignoring a frame: %s", error->message);
      return;
    }
  self->frame = frame;
  self->have_frame = TRUE;
  self->last_frame_us = g_get_monotonic_time ();
  set_analysis (self, frame.has_audio ? ROADIE_ENGINE_ANALYSIS_LIVE : ROADIE_ENGINE_ANALYSIS_NO_AUDIO);
  g_signal_emit (self, signals[FRAME], 0, &self->frame);
}

static void
on_message (RoadieWsClient *client,
            const char     *text,
            JsonObject     *object,
            gpointer        user_data)
{
  RoadieEngineLink *self = user_data;
  g_autoptr(RoadieMessage) message = NULL;
  g_autoptr(GError) error = NULL;

  /* The client has parsed the text once already; object is NULL when it
   * was not a JSON object. */
  if (object == NULL)
    {
      g_debug ("Engine link: ignoring a message that is not a JSON object");
      return;
    }
  message = roadie_message_new_for_object (object, &error);
  if (message == NULL)
    {
      /* A third-party server may speak its own dialect; that is not ours
       * to close over. */
      g_debug ("Engine link: ignoring a message: %s", error->message);
      return;
    }

  switch (message->type)
    {
    case ROADIE_MESSAGE_HELLO:
      set_server_name (self, json_object_get_string_member (message->object, "server"));
      break;

    case ROADIE_MESSAGE_FRAME:
    case ROADIE_MESSAGE_DJ_FRAME:
      /* A remote DJ on stage: the engine sends that DJ's frames instead. */
      take_frame (self, message->object);
      break;

    case ROADIE_MESSAGE_STATS:
      set_stats (self, message->object);
      break;

    case ROADIE_MESSAGE_UNKNOWN:
    case ROADIE_MESSAGE_DJ_AUTH:
    case ROADIE_MESSAGE_AUTH_OK:
    case ROADIE_MESSAGE_AUTH_FAILED:
    case ROADIE_MESSAGE_DJ_HEARTBEAT:
    case ROADIE_MESSAGE_HEARTBEAT_ACK:
    case ROADIE_MESSAGE_ERROR:
    case ROADIE_MESSAGE_SET_ACTIVE_DJ:
    default:
      break;
    }
}

static void
on_client_state (RoadieWsClient *client,
                 GParamSpec     *pspec,
                 gpointer        user_data)
{
  RoadieEngineLink *self = user_data;
  RoadieWsClientState state = roadie_ws_client_get_state (client);
  gboolean was_up = self->link_state == ROADIE_WS_CLIENT_STATE_CONNECTED;

  set_link_state (self, state);
  if (state == ROADIE_WS_CLIENT_STATE_CONNECTED)
    link_up (self);
  else if (was_up)
    link_down (self);
}

/* ---- following the supervisor -------------------------------------------- */

static char *
dup_engine_url (RoadieEngineLink *self)
{
  RoadieSettings *settings = roadie_supervisor_get_settings (self->supervisor);

  return g_strdup_printf ("ws://127.0.0.1:%d/", roadie_settings_get_int (settings, "ws-port"));
}

static void
close_link (RoadieEngineLink *self)
{
  if (self->client == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->client, self);
  roadie_ws_client_close (self->client);
  g_clear_object (&self->client);
  set_link_state (self, ROADIE_WS_CLIENT_STATE_DISCONNECTED);
  link_down (self);
}

static void
open_link (RoadieEngineLink *self,
           const char       *url)
{
  self->client = roadie_ws_client_new (url);
  if (self->profile_settings != NULL)
    {
      roadie_ws_profile_bind (self->profile_settings, self->client);
      /* The address is the supervised server's, not a preference. */
      g_settings_unbind (self->client, "url");
    }
  else
    roadie_ws_profile_apply_defaults (ROADIE_WS_PROFILE_ENGINE_LINK, self->client);
  g_object_set (self->client, "url", url, NULL);

  g_signal_connect (self->client, "notify::state", G_CALLBACK (on_client_state), self);
  g_signal_connect (self->client, "message", G_CALLBACK (on_message), self);
  g_debug ("Engine link: connecting to %s", url);
  roadie_ws_client_connect (self->client);
}

static void
follow_supervisor (RoadieEngineLink *self)
{
  g_autofree char *url = NULL;

  if (!roadie_supervisor_state_is_up (roadie_supervisor_get_state (self->supervisor)))
    {
      close_link (self);
      return;
    }

  url = dup_engine_url (self);
  if (self->client != NULL && g_strcmp0 (roadie_ws_client_get_url (self->client), url) != 0)
    close_link (self);
  if (self->client == NULL)
    open_link (self, url);
  else
    {
      RoadieWsClientState state = roadie_ws_client_get_state (self->client);

      /* The server is still up by the supervisor's word: a link that gave
       * up on it tries again. */
      if (state == ROADIE_WS_CLIENT_STATE_GAVE_UP || state == ROADIE_WS_CLIENT_STATE_DISCONNECTED)
        roadie_ws_client_connect (self->client);
    }
}

static void
on_supervisor_changed (RoadieSupervisor *supervisor,
                       gpointer          user_data)
{
  follow_supervisor (user_data);
}

/* ---- public -------------------------------------------------------------- */

RoadieEngineLink *
roadie_engine_link_new (RoadieSupervisor *supervisor,
                        GSettings        *profile_settings)
{
  RoadieEngineLink *self;

  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (supervisor), NULL);
  g_return_val_if_fail (profile_settings == NULL || G_IS_SETTINGS (profile_settings), NULL);

  self = g_object_new (ROADIE_TYPE_ENGINE_LINK, NULL);
  self->supervisor = g_object_ref (supervisor);
  if (profile_settings != NULL)
    self->profile_settings = g_object_ref (profile_settings);
  self->changed_id = g_signal_connect (supervisor, "changed", G_CALLBACK (on_supervisor_changed), self);
  follow_supervisor (self);

  return self;
}

RoadieEngineAnalysis
roadie_engine_link_get_analysis (RoadieEngineLink *self)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE_LINK (self), ROADIE_ENGINE_ANALYSIS_DISCONNECTED);

  return self->analysis;
}

const char *
roadie_engine_link_get_server_name (RoadieEngineLink *self)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE_LINK (self), NULL);

  return self->server_name;
}

RoadieWsClientState
roadie_engine_link_get_link_state (RoadieEngineLink *self)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE_LINK (self), ROADIE_WS_CLIENT_STATE_DISCONNECTED);

  return self->link_state;
}

JsonObject *
roadie_engine_link_dup_stats (RoadieEngineLink *self)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE_LINK (self), NULL);

  return self->stats != NULL ? json_object_ref (self->stats) : NULL;
}

const RoadieLiveFrame *
roadie_engine_link_get_frame (RoadieEngineLink *self)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE_LINK (self), NULL);

  return self->have_frame ? &self->frame : NULL;
}

guint
roadie_engine_link_count_sources (RoadieEngineLink *self)
{
  g_return_val_if_fail (ROADIE_IS_ENGINE_LINK (self), 0);

  return (self->watchdog_id != 0 ? 1 : 0)
         + (self->client != NULL ? roadie_ws_client_count_sources (self->client) : 0);
}

/* ---- GObject ------------------------------------------------------------- */

static void
roadie_engine_link_dispose (GObject *object)
{
  RoadieEngineLink *self = (RoadieEngineLink *)object;

  if (self->supervisor != NULL)
    g_clear_signal_handler (&self->changed_id, self->supervisor);
  if (self->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->client, self);
      roadie_ws_client_close (self->client);
      g_clear_object (&self->client);
    }
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  g_clear_pointer (&self->stats, json_object_unref);
  g_clear_object (&self->supervisor);
  g_clear_object (&self->profile_settings);

  G_OBJECT_CLASS (roadie_engine_link_parent_class)->dispose (object);
}

static void
roadie_engine_link_finalize (GObject *object)
{
  RoadieEngineLink *self = (RoadieEngineLink *)object;

  g_free (self->server_name);

  G_OBJECT_CLASS (roadie_engine_link_parent_class)->finalize (object);
}

static void
roadie_engine_link_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  RoadieEngineLink *self = ROADIE_ENGINE_LINK (object);

  switch (prop_id)
    {
    case PROP_ANALYSIS:
      g_value_set_enum (value, self->analysis);
      break;

    case PROP_SERVER_NAME:
      g_value_set_string (value, self->server_name);
      break;

    case PROP_LINK_STATE:
      g_value_set_enum (value, self->link_state);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_engine_link_class_init (RoadieEngineLinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = roadie_engine_link_dispose;
  object_class->finalize = roadie_engine_link_finalize;
  object_class->get_property = roadie_engine_link_get_property;

  properties[PROP_ANALYSIS] =
    g_param_spec_enum ("analysis", NULL, NULL,
                       ROADIE_TYPE_ENGINE_ANALYSIS,
                       ROADIE_ENGINE_ANALYSIS_DISCONNECTED,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_SERVER_NAME] =
    g_param_spec_string ("server-name", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_LINK_STATE] =
    g_param_spec_enum ("link-state", NULL, NULL,
                       ROADIE_TYPE_WS_CLIENT_STATE,
                       ROADIE_WS_CLIENT_STATE_DISCONNECTED,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[FRAME] =
    g_signal_new ("frame",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[STATS_CHANGED] =
    g_signal_new ("stats-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
roadie_engine_link_init (RoadieEngineLink *self)
{
  self->analysis = ROADIE_ENGINE_ANALYSIS_DISCONNECTED;
  self->link_state = ROADIE_WS_CLIENT_STATE_DISCONNECTED;
}
