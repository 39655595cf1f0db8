/* roadie-protocol.h: Roadie's JSON messages, built and checked in one place.
 *
 * One JSON object per text frame, "type" first. Parsing is strict: not JSON,
 * not an object, a missing or wrong-typed field, invalid UTF-8 or an
 * oversized message gives an error with the close code that fits
 * (1007 invalid payload, 1008 policy, 1009 too big). Unknown types parse
 * fine as ROADIE_MESSAGE_UNKNOWN and are ignored by receivers.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define ROADIE_PROTOCOL_VERSION 1

typedef enum
{
  ROADIE_MESSAGE_UNKNOWN,
  ROADIE_MESSAGE_HELLO,
  ROADIE_MESSAGE_FRAME,
  ROADIE_MESSAGE_DJ_AUTH,
  ROADIE_MESSAGE_AUTH_OK,
  ROADIE_MESSAGE_AUTH_FAILED,
  ROADIE_MESSAGE_DJ_HEARTBEAT,
  ROADIE_MESSAGE_HEARTBEAT_ACK,
  ROADIE_MESSAGE_DJ_FRAME,
  ROADIE_MESSAGE_STATS,
  ROADIE_MESSAGE_ERROR,
  ROADIE_MESSAGE_SET_ACTIVE_DJ,
} RoadieMessageType;

typedef struct
{
  RoadieMessageType type;
  JsonObject       *object;    /* owned; the whole message */
} RoadieMessage;

/* NULL with *close_code set (1007/1008/1009) and error set when the text
 * is not an acceptable message. max_bytes 0 = no size limit. */
RoadieMessage *roadie_message_parse     (const char   *text,
                                         gsize         len,
                                         gsize         max_bytes,
                                         gushort      *close_code,
                                         GError      **error);
/* The same checks on an object parsed elsewhere (by a RoadieWsClient, say):
 * the type and its fields. NULL with error set when they do not hold. */
RoadieMessage *roadie_message_new_for_object (JsonObject  *object,
                                              GError     **error);
void           roadie_message_free      (RoadieMessage *message);
const char    *roadie_message_type_name (RoadieMessageType type);

/* Builders return compact JSON text with "type" first. ts values are Unix
 * seconds as floating point (g_get_real_time () / 1e6). */
char *roadie_message_hello         (const char *server,
                                    const char *version);
char *roadie_message_auth_ok       (void);
char *roadie_message_auth_failed   (const char *reason);
char *roadie_message_dj_auth       (const char *dj_id,
                                    const char *dj_name,
                                    const char *dj_key);
char *roadie_message_dj_heartbeat  (double      ts,
                                    gboolean    mc_connected);
char *roadie_message_heartbeat_ack (double      server_time);
char *roadie_message_error         (const char *reason);
char *roadie_message_set_active_dj (const char *dj_id);
/* {"type":"stats", then the members of stats (a JSON object) in order}. */
char *roadie_message_stats         (JsonNode   *stats);

/* Now, as Unix seconds with a fraction: for ts and server_time. */
double roadie_protocol_now         (void);

/* A dj_id: 1 to 64 bytes of valid UTF-8, no spaces, no control characters. */
gboolean roadie_protocol_is_valid_dj_id          (const char *id);
/* text must be valid UTF-8. */
gboolean roadie_protocol_has_control_characters  (const char *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadieMessage, roadie_message_free)

G_END_DECLS
