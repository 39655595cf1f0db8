/* roadie-control-api.c: the HTTP control API on 127.0.0.1:control-api-port.
 *
 * The seed's status endpoint and the start/stop/restart endpoints it asked
 * for, for scripts and booth tooling on this machine:
 *
 *   GET  /api/audio-server/status     200, the supervisor's status JSON
 *   POST /api/audio-server/start      200 with the new status, or 409
 *   POST /api/audio-server/stop       (Authorization: Bearer TOKEN)
 *   POST /api/audio-server/restart
 *
 * Every request is checked in this order, and every refusal is JSON
 * {"error": "..."}:
 *
 *   1. Host must name this machine's loopback (127.0.0.1, localhost or
 *      [::1], with or without a port), else 403. Listening on 127.0.0.1
 *      keeps other machines out; this keeps web pages out, since a page
 *      that rebinds its DNS name to 127.0.0.1 still sends its own name.
 *   2. Unknown path 404; known path, wrong method 405 with Allow.
 *   3. POST only: no Authorization header, or one that is not a Bearer
 *      credential at all (another scheme, no token) → 401 with
 *      WWW-Authenticate, since the client has not tried to authenticate
 *      the way we ask; a well-formed Bearer token that does not match →
 *      403. The token is compared in constant time and never logged.
 *   4. POST body: empty or a JSON object (ignored for now), else 400.
 *   5. Supervisor refusals (pre-flight failures, stopping a server Roadie
 *      did not start) → 409 with the supervisor's own words.
 *
 * No CORS headers are sent, so browsers keep cross-origin pages from
 * reading answers or sending the Authorization header.
 */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "roadie-control-api.h"
#include "roadie-http.h"
#include "roadie-control-token.h"
#include "roadie-error.h"
#include "roadie-port.h"

/* Control requests carry no real payload; anything larger is not one. */
#define MAX_BODY_BYTES (16 * 1024)

typedef enum
{
  ACTION_STATUS,
  ACTION_START,
  ACTION_STOP,
  ACTION_RESTART,
} Action;

typedef struct
{
  const char *path;
  const char *method;
  Action      action;
} Route;

static const Route routes[] = {
  { "/api/audio-server/status",  "GET",  ACTION_STATUS },
  { "/api/audio-server/start",   "POST", ACTION_START },
  { "/api/audio-server/stop",    "POST", ACTION_STOP },
  { "/api/audio-server/restart", "POST", ACTION_RESTART },
};

struct _RoadieControlApi
{
  GObject           parent_instance;

  RoadieSupervisor *supervisor;
  char             *token;
  SoupServer       *server;
  guint             port;
};

G_DEFINE_FINAL_TYPE (RoadieControlApi, roadie_control_api, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SUPERVISOR,
  PROP_TOKEN,
  PROP_PORT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
respond_status (RoadieControlApi  *self,
                SoupServerMessage *msg)
{
  g_autoptr(JsonNode) status = roadie_supervisor_build_status (self->supervisor);

  roadie_http_respond_json (msg, SOUP_STATUS_OK, status);
}

/* TRUE for "127.0.0.1", "localhost" and "[::1]", each optionally followed
 * by ":port". Anything else, including other spellings of loopback such as
 * "127.1" or "0x7f000001", is refused: only names a local client sends. */
static gboolean
host_is_loopback (const char *host)
{
  static const char * const names[] = { "127.0.0.1", "localhost", "[::1]" };

  if (host == NULL)
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      gsize len = strlen (names[i]);
      const char *rest;

      if (g_ascii_strncasecmp (host, names[i], len) != 0)
        continue;

      rest = host + len;
      if (*rest == '\0')
        return TRUE;
      if (*rest != ':' || rest[1] == '\0' || strlen (rest + 1) > 5)
        return FALSE;
      for (rest++; *rest != '\0'; rest++)
        if (!g_ascii_isdigit (*rest))
          return FALSE;
      return TRUE;
    }

  return FALSE;
}

typedef enum
{
  AUTH_OK,
  AUTH_MISSING,
  AUTH_MALFORMED,
  AUTH_WRONG,
} AuthResult;

static AuthResult
check_authorization (RoadieControlApi *self,
                     const char       *header)
{
  static const char scheme[] = "Bearer";
  g_autofree char *given = NULL;
  const char *p;
  gboolean matches;

  if (header == NULL)
    return AUTH_MISSING;

  p = header;
  while (*p == ' ' || *p == '\t')
    p++;
  if (g_ascii_strncasecmp (p, scheme, strlen (scheme)) != 0)
    return AUTH_MALFORMED;
  p += strlen (scheme);
  if (*p != ' ' && *p != '\t')
    return AUTH_MALFORMED;
  while (*p == ' ' || *p == '\t')
    p++;

  given = g_strchomp (g_strdup (p));
  if (*given == '\0' || strpbrk (given, " \t") != NULL)
    return AUTH_MALFORMED;

  matches = roadie_constant_time_equal (given, self->token);
  /* The copy held a secret (the right one or a near miss): wipe it. */
  memset (given, 0, strlen (given));

  return matches ? AUTH_OK : AUTH_WRONG;
}

/* Empty, or a JSON object. Fields are ignored for now; accepting {} lets
 * clients that always send a JSON body (curl --json, fetch) work. */
static gboolean
body_is_acceptable (SoupServerMessage  *msg,
                    char              **problem)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) error = NULL;
  const char *data;
  gsize len = 0;

  bytes = soup_message_body_flatten (body);
  data = g_bytes_get_data (bytes, &len);
  if (len == 0)
    return TRUE;
  if (len > MAX_BODY_BYTES)
    {
      *problem = g_strdup_printf ("The request body is larger than %u bytes; send an empty body or {}",
                                  MAX_BODY_BYTES);
      return FALSE;
    }

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, data, len, &error))
    {
      *problem = g_strdup_printf ("The request body is not JSON (%s); send an empty body or {}",
                                  error->message);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      *problem = g_strdup ("The request body must be a JSON object; send an empty body or {}");
      return FALSE;
    }

  return TRUE;
}

static const char *
action_name (Action action)
{
  switch (action)
    {
    case ACTION_STATUS:
      return "status";
    case ACTION_START:
      return "start";
    case ACTION_STOP:
      return "stop";
    case ACTION_RESTART:
      return "restart";
    default:
      g_assert_not_reached ();
    }
}

static void
run_action (RoadieControlApi  *self,
            SoupServerMessage *msg,
            Action             action)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = FALSE;

  g_info ("Control API: %s requested", action_name (action));

  switch (action)
    {
    case ACTION_START:
      ok = roadie_supervisor_start (self->supervisor, &error);
      break;

    case ACTION_STOP:
      ok = roadie_supervisor_stop (self->supervisor, &error);
      break;

    case ACTION_RESTART:
      ok = roadie_supervisor_restart (self->supervisor, &error);
      break;

    case ACTION_STATUS:
    default:
      g_assert_not_reached ();
    }

  if (!ok)
    {
      g_info ("Control API: %s refused: %s", action_name (action), error->message);
      roadie_http_respond_error (msg, SOUP_STATUS_CONFLICT, error->message);
      return;
    }

  respond_status (self, msg);
}

static const Route *
find_route (const char *path,
            gboolean   *path_known)
{
  const Route *found = NULL;

  *path_known = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    if (g_strcmp0 (routes[i].path, path) == 0)
      {
        *path_known = TRUE;
        found = &routes[i];
      }

  return found;
}

/* Runs when the headers are in, before any body is read: a request from
 * the wrong Host, or announcing an oversized body, is turned away without
 * reading more. */
static void
handle_headers (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  goffset length;

  if (!host_is_loopback (soup_message_headers_get_one (headers, "Host")))
    {
      g_debug ("Control API: refused a request for Host “%s”",
               soup_message_headers_get_one (headers, "Host"));
      roadie_http_respond_error (msg, SOUP_STATUS_FORBIDDEN,
                     "This is Roadie's local control API: address it as 127.0.0.1 or localhost");
      return;
    }

  length = soup_message_headers_get_content_length (headers);
  if (length > MAX_BODY_BYTES)
    {
      g_autofree char *message = g_strdup_printf ("The request body is larger than %u bytes; send an empty body or {}",
                                                  MAX_BODY_BYTES);
      roadie_http_respond_error (msg, SOUP_STATUS_BAD_REQUEST, message);
      return;
    }
}

static void
handle_request (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  RoadieControlApi *self = user_data;
  SoupMessageHeaders *request_headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (msg);
  const char *method = soup_server_message_get_method (msg);
  g_autofree char *problem = NULL;
  const Route *route;
  gboolean path_known;

  /* The early handler checked Host already; checked again so a request
   * can never reach an action without it. */
  if (!host_is_loopback (soup_message_headers_get_one (request_headers, "Host")))
    {
      roadie_http_respond_error (msg, SOUP_STATUS_FORBIDDEN,
                     "This is Roadie's local control API: address it as 127.0.0.1 or localhost");
      return;
    }

  route = find_route (path, &path_known);
  if (!path_known)
    {
      roadie_http_respond_error (msg, SOUP_STATUS_NOT_FOUND,
                     "No such endpoint: Roadie answers GET /api/audio-server/status and "
                     "POST /api/audio-server/start, stop and restart");
      return;
    }

  if (g_strcmp0 (method, route->method) != 0)
    {
      g_autofree char *message = g_strdup_printf ("%s only answers %s", route->path, route->method);

      soup_message_headers_replace (response_headers, "Allow", route->method);
      roadie_http_respond_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, message);
      return;
    }

  if (route->action == ACTION_STATUS)
    {
      respond_status (self, msg);
      return;
    }

  switch (check_authorization (self, soup_message_headers_get_one (request_headers, "Authorization")))
    {
    case AUTH_OK:
      break;

    case AUTH_MISSING:
      soup_message_headers_replace (response_headers, "WWW-Authenticate", "Bearer realm=\"roadie\"");
      roadie_http_respond_error (msg, SOUP_STATUS_UNAUTHORIZED,
                     "This needs the control token: send “Authorization: Bearer TOKEN” with the token "
                     "from $XDG_RUNTIME_DIR/roadie/control-token");
      return;

    case AUTH_MALFORMED:
      soup_message_headers_replace (response_headers, "WWW-Authenticate",
                                    "Bearer realm=\"roadie\", error=\"invalid_request\"");
      roadie_http_respond_error (msg, SOUP_STATUS_UNAUTHORIZED,
                     "The Authorization header must be “Bearer TOKEN”, with the token "
                     "from $XDG_RUNTIME_DIR/roadie/control-token");
      return;

    case AUTH_WRONG:
      g_info ("Control API: refused %s with a wrong token", action_name (route->action));
      roadie_http_respond_error (msg, SOUP_STATUS_FORBIDDEN,
                     "The control token is wrong: use the one in $XDG_RUNTIME_DIR/roadie/control-token "
                     "(it changes when it is regenerated)");
      return;

    default:
      g_assert_not_reached ();
    }

  if (!body_is_acceptable (msg, &problem))
    {
      roadie_http_respond_error (msg, SOUP_STATUS_BAD_REQUEST, problem);
      return;
    }

  run_action (self, msg, route->action);
}

static void
roadie_control_api_dispose (GObject *object)
{
  RoadieControlApi *self = (RoadieControlApi *)object;

  roadie_control_api_shutdown (self);
  g_clear_object (&self->supervisor);

  G_OBJECT_CLASS (roadie_control_api_parent_class)->dispose (object);
}

static void
roadie_control_api_finalize (GObject *object)
{
  RoadieControlApi *self = (RoadieControlApi *)object;

  if (self->token != NULL)
    memset (self->token, 0, strlen (self->token));
  g_clear_pointer (&self->token, g_free);

  G_OBJECT_CLASS (roadie_control_api_parent_class)->finalize (object);
}

static void
roadie_control_api_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  RoadieControlApi *self = ROADIE_CONTROL_API (object);

  switch (prop_id)
    {
    case PROP_SUPERVISOR:
      g_value_set_object (value, self->supervisor);
      break;

    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_control_api_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  RoadieControlApi *self = ROADIE_CONTROL_API (object);

  switch (prop_id)
    {
    case PROP_SUPERVISOR:
      self->supervisor = g_value_dup_object (value);
      break;

    case PROP_TOKEN:
      self->token = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_control_api_class_init (RoadieControlApiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = roadie_control_api_dispose;
  object_class->finalize = roadie_control_api_finalize;
  object_class->get_property = roadie_control_api_get_property;
  object_class->set_property = roadie_control_api_set_property;

  properties[PROP_SUPERVISOR] =
    g_param_spec_object ("supervisor", NULL, NULL,
                         ROADIE_TYPE_SUPERVISOR,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));

  /* Write-only: the secret goes in and is never handed out again. */
  properties[PROP_TOKEN] =
    g_param_spec_string ("token", NULL, NULL,
                         NULL,
                         (G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));

  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL,
                       0, G_MAXUINT16, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
roadie_control_api_init (RoadieControlApi *self)
{
}

RoadieControlApi *
roadie_control_api_new (RoadieSupervisor *supervisor,
                        const char       *token)
{
  g_return_val_if_fail (ROADIE_IS_SUPERVISOR (supervisor), NULL);
  g_return_val_if_fail (token != NULL && *token != '\0', NULL);

  return g_object_new (ROADIE_TYPE_CONTROL_API,
                       "supervisor", supervisor,
                       "token", token,
                       NULL);
}

gboolean
roadie_control_api_listen (RoadieControlApi  *self,
                           guint              port,
                           GError           **error)
{
  g_autoptr(SoupServer) server = NULL;

  g_return_val_if_fail (ROADIE_IS_CONTROL_API (self), FALSE);
  g_return_val_if_fail (port <= G_MAXUINT16, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->server != NULL)
    {
      g_set_error (error, ROADIE_ERROR, ROADIE_ERROR_FAILED,
                   "The control API already listens on port %u", self->port);
      return FALSE;
    }

  server = soup_server_new (NULL, NULL);
  soup_server_add_early_handler (server, "/", handle_headers, self, NULL);
  soup_server_add_handler (server, "/", handle_request, self, NULL);

  /* 127.0.0.1 only: the API must never be reachable from the network. */
  if (!roadie_http_server_listen (server, "127.0.0.1", port,
                                  "the control API is off for this run",
                                  "Free the port or change control-api-port.", error))
    return FALSE;

  self->server = g_steal_pointer (&server);
  self->port = roadie_http_server_get_port (self->server);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);

  g_info ("Control API listening on http://127.0.0.1:%u/api/audio-server/status", self->port);

  return TRUE;
}

guint
roadie_control_api_get_port (RoadieControlApi *self)
{
  g_return_val_if_fail (ROADIE_IS_CONTROL_API (self), 0);

  return self->port;
}

void
roadie_control_api_set_token (RoadieControlApi *self,
                              const char       *token)
{
  g_return_if_fail (ROADIE_IS_CONTROL_API (self));
  g_return_if_fail (token != NULL && *token != '\0');

  /* A regenerated token: the old one stops working at once. */
  if (self->token != NULL)
    memset (self->token, 0, strlen (self->token));
  g_free (self->token);
  self->token = g_strdup (token);
}

void
roadie_control_api_shutdown (RoadieControlApi *self)
{
  g_return_if_fail (ROADIE_IS_CONTROL_API (self));

  if (self->server == NULL)
    return;

  soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  self->port = 0;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
}
