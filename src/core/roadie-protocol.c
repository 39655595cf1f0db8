/* roadie-protocol.c: Roadie's JSON messages, built and checked in one place.
 *
 * Parsing runs in three passes, cheapest first: size (1009), UTF-8 and a
 * strict RFC 8259 syntax check with a nesting cap (1007), then json-glib
 * and the per-type field table (1007). The syntax pass exists because
 * json-glib 1.6 is lenient (it takes comments, single quotes, hex and
 * leading-zero numbers, and two objects back to back) and recurses without
 * a limit, so 200 000 "[" overflow the stack; neither may reach it from
 * the network.
 *
 * Close codes: everything wrong with the text itself is 1007 (the payload
 * is not consistent with the message it claims to be); too big is 1009.
 * 1008 (policy) is left to receivers, for well-formed messages that are
 * not allowed where they arrive (a DJ speaking before dj_auth, say).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <gio/gio.h>

#include "roadie-protocol.h"

/* Roadie's messages are at most two levels deep (an object holding the
 * bands array); 32 leaves room for extensions and keeps recursion tiny. */
#define MAX_DEPTH 32

/* dj_id is a name from the keys file (no blanks) and shows up in logs. */
#define MAX_DJ_ID_BYTES   64
#define MAX_DJ_NAME_BYTES 128
#define MAX_DJ_KEY_BYTES  1024

#define CLOSE_INVALID_PAYLOAD 1007
#define CLOSE_TOO_BIG         1009

typedef enum
{
  FIELD_STRING,         /* any string */
  FIELD_DJ_ID,          /* 1..64 bytes, no blanks or control characters */
  FIELD_DJ_NAME,        /* up to 128 bytes, no control characters */
  FIELD_DJ_KEY,         /* 1..1024 bytes */
  FIELD_NUMBER,         /* integer or floating point, finite */
  FIELD_COUNT,          /* integer >= 0 */
  FIELD_BOOLEAN,
  FIELD_NUMBER_ARRAY,   /* array of finite numbers, possibly empty */
} FieldKind;

typedef struct
{
  const char *name;
  FieldKind   kind;
  gboolean    optional;
} FieldSpec;

typedef struct
{
  RoadieMessageType  type;
  const char        *name;
  const FieldSpec   *fields;   /* { NULL } terminated */
} TypeSpec;

#define FRAME_FIELDS \
  { "seq", FIELD_COUNT }, \
  { "ts", FIELD_NUMBER }, \
  { "rms", FIELD_NUMBER }, \
  { "peak", FIELD_NUMBER }, \
  { "bands", FIELD_NUMBER_ARRAY }, \
  { "onset", FIELD_NUMBER }, \
  { "beat", FIELD_BOOLEAN }, \
  { "bpm", FIELD_NUMBER }, \
  { "confidence", FIELD_NUMBER }, \
  { "phase", FIELD_NUMBER }

static const FieldSpec no_fields[] = { { NULL } };
static const FieldSpec hello_fields[] = {
  { "server", FIELD_STRING },
  { "version", FIELD_STRING },
  { "protocol", FIELD_COUNT },
  { NULL }
};
static const FieldSpec frame_fields[] = { FRAME_FIELDS, { NULL } };
static const FieldSpec dj_frame_fields[] = { FRAME_FIELDS, { "dj_id", FIELD_DJ_ID }, { NULL } };
/* dj_name is a display name: a DJ without one is still identified by
 * dj_id, so it may be missing or empty, but when present it is a string. */
static const FieldSpec dj_auth_fields[] = {
  { "dj_id", FIELD_DJ_ID },
  { "dj_name", FIELD_DJ_NAME, TRUE },
  { "dj_key", FIELD_DJ_KEY },
  { NULL }
};
static const FieldSpec reason_fields[] = { { "reason", FIELD_STRING }, { NULL } };
static const FieldSpec dj_heartbeat_fields[] = {
  { "ts", FIELD_NUMBER },
  { "mc_connected", FIELD_BOOLEAN },
  { NULL }
};
static const FieldSpec heartbeat_ack_fields[] = { { "server_time", FIELD_NUMBER }, { NULL } };
static const FieldSpec stats_fields[] = {
  { "dj_connects", FIELD_COUNT },
  { "dj_disconnects", FIELD_COUNT },
  { "browser_connects", FIELD_COUNT },
  { "browser_disconnects", FIELD_COUNT },
  { "mc_reconnect_count", FIELD_COUNT },
  { "current_djs", FIELD_COUNT },
  { "current_browsers", FIELD_COUNT },
  { "mc_connected", FIELD_BOOLEAN },
  { NULL }
};
static const FieldSpec set_active_dj_fields[] = { { "dj_id", FIELD_DJ_ID }, { NULL } };

static const TypeSpec types[] = {
  { ROADIE_MESSAGE_HELLO, "hello", hello_fields },
  { ROADIE_MESSAGE_FRAME, "frame", frame_fields },
  { ROADIE_MESSAGE_DJ_AUTH, "dj_auth", dj_auth_fields },
  { ROADIE_MESSAGE_AUTH_OK, "auth_ok", no_fields },
  { ROADIE_MESSAGE_AUTH_FAILED, "auth_failed", reason_fields },
  { ROADIE_MESSAGE_DJ_HEARTBEAT, "dj_heartbeat", dj_heartbeat_fields },
  { ROADIE_MESSAGE_HEARTBEAT_ACK, "heartbeat_ack", heartbeat_ack_fields },
  { ROADIE_MESSAGE_DJ_FRAME, "dj_frame", dj_frame_fields },
  { ROADIE_MESSAGE_STATS, "stats", stats_fields },
  { ROADIE_MESSAGE_ERROR, "error", reason_fields },
  { ROADIE_MESSAGE_SET_ACTIVE_DJ, "set_active_dj", set_active_dj_fields },
};

/* --- strict syntax ------------------------------------------------------- */

typedef struct
{
  const char *p;
  const char *end;
  const char *problem;
} Scanner;

static gboolean scan_value (Scanner *s, guint depth);

static void
skip_blanks (Scanner *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static gboolean
fail (Scanner    *s,
      const char *problem)
{
  if (s->problem == NULL)
    s->problem = problem;
  return FALSE;
}

static gboolean
scan_hex4 (Scanner *s,
           guint   *value)
{
  *value = 0;
  if (s->end - s->p < 4)
    return fail (s, "a \\u escape needs four hex digits");
  for (guint i = 0; i < 4; i++, s->p++)
    {
      if (!g_ascii_isxdigit (*s->p))
        return fail (s, "a \\u escape needs four hex digits");
      *value = (*value << 4) | g_ascii_xdigit_value (*s->p);
    }
  return TRUE;
}

static gboolean
scan_string (Scanner *s)
{
  s->p++;   /* the opening quote */
  while (s->p < s->end)
    {
      guchar c = *s->p;

      if (c == '"')
        {
          s->p++;
          return TRUE;
        }
      if (c < 0x20)
        return fail (s, "a string holds a raw control character");
      if (c != '\\')
        {
          s->p++;
          continue;
        }

      s->p++;
      if (s->p >= s->end)
        break;
      switch (*s->p)
        {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          s->p++;
          break;

        case 'u':
          {
            guint unit;

            s->p++;
            if (!scan_hex4 (s, &unit))
              return FALSE;
            /* NUL would cut the string short in C; lone surrogates are
             * not characters. Neither has a use in Roadie's messages. */
            if (unit == 0)
              return fail (s, "a string holds \\u0000");
            if (unit >= 0xDC00 && unit <= 0xDFFF)
              return fail (s, "a string holds a lone low surrogate");
            if (unit >= 0xD800 && unit <= 0xDBFF)
              {
                guint low;

                if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                  return fail (s, "a string holds a lone high surrogate");
                s->p += 2;
                if (!scan_hex4 (s, &low))
                  return FALSE;
                if (low < 0xDC00 || low > 0xDFFF)
                  return fail (s, "a string holds a lone high surrogate");
              }
          }
          break;

        default:
          return fail (s, "a string holds an unknown escape");
        }
    }
  return fail (s, "a string is not terminated");
}

static gboolean
scan_digits (Scanner *s)
{
  const char *start = s->p;

  while (s->p < s->end && g_ascii_isdigit (*s->p))
    s->p++;
  return s->p > start;
}

static gboolean
scan_number (Scanner *s)
{
  if (*s->p == '-')
    s->p++;
  if (s->p < s->end && *s->p == '0')
    s->p++;
  else if (!scan_digits (s))
    return fail (s, "a number is malformed");

  if (s->p < s->end && *s->p == '.')
    {
      s->p++;
      if (!scan_digits (s))
        return fail (s, "a number is malformed");
    }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
    {
      s->p++;
      if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
        s->p++;
      if (!scan_digits (s))
        return fail (s, "a number is malformed");
    }
  /* "01", "1x": the number must end where a value may end. */
  if (s->p < s->end && (g_ascii_isalnum (*s->p) || *s->p == '.'))
    return fail (s, "a number is malformed");
  return TRUE;
}

static gboolean
scan_literal (Scanner    *s,
              const char *word)
{
  gsize len = strlen (word);

  if ((gsize) (s->end - s->p) < len || memcmp (s->p, word, len) != 0)
    return fail (s, "not JSON");
  s->p += len;
  if (s->p < s->end && g_ascii_isalnum (*s->p))
    return fail (s, "not JSON");
  return TRUE;
}

static gboolean
scan_container (Scanner *s,
                guint    depth,
                gboolean is_object)
{
  char close = is_object ? '}' : ']';

  if (depth >= MAX_DEPTH)
    return fail (s, "nested too deeply");

  s->p++;
  skip_blanks (s);
  if (s->p < s->end && *s->p == close)
    {
      s->p++;
      return TRUE;
    }

  for (;;)
    {
      skip_blanks (s);
      if (is_object)
        {
          if (s->p >= s->end || *s->p != '"')
            return fail (s, "an object member has no quoted name");
          if (!scan_string (s))
            return FALSE;
          skip_blanks (s);
          if (s->p >= s->end || *s->p != ':')
            return fail (s, "an object member has no ':'");
          s->p++;
        }
      if (!scan_value (s, depth + 1))
        return FALSE;
      skip_blanks (s);
      if (s->p >= s->end)
        return fail (s, "the text ends inside an object or array");
      if (*s->p == close)
        {
          s->p++;
          return TRUE;
        }
      if (*s->p != ',')
        return fail (s, "expected ',' between members");
      s->p++;
    }
}

static gboolean
scan_value (Scanner *s,
            guint    depth)
{
  skip_blanks (s);
  if (s->p >= s->end)
    return fail (s, "a value is missing");

  switch (*s->p)
    {
    case '{':
      return scan_container (s, depth, TRUE);
    case '[':
      return scan_container (s, depth, FALSE);
    case '"':
      return scan_string (s);
    case 't':
      return scan_literal (s, "true");
    case 'f':
      return scan_literal (s, "false");
    case 'n':
      return scan_literal (s, "null");
    default:
      if (*s->p == '-' || g_ascii_isdigit (*s->p))
        return scan_number (s);
      return fail (s, "not JSON");
    }
}

/* NULL when text is one strict JSON value with nothing after it, else
 * what is wrong with it. */
static const char *
check_json_syntax (const char *text,
                   gsize       len)
{
  Scanner s = { text, text + len, NULL };

  if (scan_value (&s, 0))
    {
      skip_blanks (&s);
      if (s.p != s.end)
        fail (&s, "more than one JSON value");
    }
  return s.problem;
}

/* --- fields -------------------------------------------------------------- */

static gboolean
node_is_number (JsonNode *node)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    return TRUE;
  /* 1e999 reaches json-glib as infinity. */
  return type == G_TYPE_DOUBLE && isfinite (json_node_get_double (node));
}

gboolean
roadie_protocol_is_valid_dj_id (const char *id)
{
  gsize len = strlen (id);

  if (len == 0 || len > MAX_DJ_ID_BYTES)
    return FALSE;
  for (const char *p = id; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c) || g_unichar_iscntrl (c))
        return FALSE;
    }
  return TRUE;
}

gboolean
roadie_protocol_has_control_characters (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return TRUE;
  return FALSE;
}

static gboolean
check_field (JsonNode        *node,
             const FieldSpec *spec,
             const char     **expected)
{
  const char *text;

  switch (spec->kind)
    {
    case FIELD_STRING:
      *expected = "a string";
      return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;

    case FIELD_DJ_ID:
      *expected = "a DJ id (1 to 64 characters, no spaces)";
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return FALSE;
      return roadie_protocol_is_valid_dj_id (json_node_get_string (node));

    case FIELD_DJ_NAME:
      *expected = "a string of at most 128 bytes without control characters";
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return FALSE;
      text = json_node_get_string (node);
      return strlen (text) <= MAX_DJ_NAME_BYTES && !roadie_protocol_has_control_characters (text);

    case FIELD_DJ_KEY:
      *expected = "a non-empty string of at most 1024 bytes";
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return FALSE;
      text = json_node_get_string (node);
      return *text != '\0' && strlen (text) <= MAX_DJ_KEY_BYTES;

    case FIELD_NUMBER:
      *expected = "a number";
      return node_is_number (node);

    case FIELD_COUNT:
      *expected = "a whole number, 0 or more";
      return JSON_NODE_HOLDS_VALUE (node)
             && json_node_get_value_type (node) == G_TYPE_INT64
             && json_node_get_int (node) >= 0;

    case FIELD_BOOLEAN:
      *expected = "true or false";
      return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN;

    case FIELD_NUMBER_ARRAY:
      *expected = "an array of numbers";
      if (!JSON_NODE_HOLDS_ARRAY (node))
        return FALSE;
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);

        for (guint i = 0; i < n; i++)
          if (!node_is_number (json_array_get_element (array, i)))
            return FALSE;
      }
      return TRUE;

    default:
      g_assert_not_reached ();
    }
}

static gboolean
check_fields (JsonObject      *object,
              const TypeSpec  *type,
              GError         **error)
{
  for (const FieldSpec *spec = type->fields; spec->name != NULL; spec++)
    {
      JsonNode *node = json_object_get_member (object, spec->name);
      const char *expected = NULL;

      if (node == NULL)
        {
          if (spec->optional)
            continue;
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s message without “%s”", type->name, spec->name);
          return FALSE;
        }
      if (!check_field (node, spec, &expected))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "“%s” of a %s message must be %s", spec->name, type->name, expected);
          return FALSE;
        }
    }
  return TRUE;
}

/* --- parsing ------------------------------------------------------------- */

static RoadieMessage *
refuse (gushort    *close_code,
        gushort     code,
        GError    **error,
        GIOErrorEnum error_code,
        const char *message)
{
  if (close_code != NULL)
    *close_code = code;
  g_set_error_literal (error, G_IO_ERROR, error_code, message);
  return NULL;
}

RoadieMessage *
roadie_message_parse (const char  *text,
                      gsize        len,
                      gsize        max_bytes,
                      gushort     *close_code,
                      GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *problem = NULL;
  RoadieMessage *message;
  JsonNode *root;
  const char *syntax_problem;

  g_return_val_if_fail (text != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (close_code != NULL)
    *close_code = 0;

  if (max_bytes > 0 && len > max_bytes)
    {
      problem = g_strdup_printf ("the message is %" G_GSIZE_FORMAT " bytes; at most %" G_GSIZE_FORMAT " are accepted",
                                 len, max_bytes);
      return refuse (close_code, CLOSE_TOO_BIG, error, G_IO_ERROR_MESSAGE_TOO_LARGE, problem);
    }

  /* g_utf8_validate_len() also refuses NUL bytes, which JSON text cannot
   * hold unescaped anyway. */
  if (!g_utf8_validate_len (text, len, NULL))
    return refuse (close_code, CLOSE_INVALID_PAYLOAD, error, G_IO_ERROR_INVALID_DATA,
                   "the message is not valid UTF-8");

  syntax_problem = check_json_syntax (text, len);
  if (syntax_problem != NULL)
    {
      problem = g_strdup_printf ("the message is not JSON: %s", syntax_problem);
      return refuse (close_code, CLOSE_INVALID_PAYLOAD, error, G_IO_ERROR_INVALID_DATA, problem);
    }

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, len, &local_error))
    {
      problem = g_strdup_printf ("the message is not JSON: %s", local_error->message);
      return refuse (close_code, CLOSE_INVALID_PAYLOAD, error, G_IO_ERROR_INVALID_DATA, problem);
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return refuse (close_code, CLOSE_INVALID_PAYLOAD, error, G_IO_ERROR_INVALID_DATA,
                   "the message must be a JSON object");

  message = roadie_message_new_for_object (json_node_get_object (root), &local_error);
  if (message == NULL)
    return refuse (close_code, CLOSE_INVALID_PAYLOAD, error, G_IO_ERROR_INVALID_DATA,
                   local_error->message);
  return message;
}

RoadieMessage *
roadie_message_new_for_object (JsonObject  *object,
                               GError     **error)
{
  const TypeSpec *spec = NULL;
  RoadieMessage *message;
  JsonNode *type_node;
  const char *type_name;

  g_return_val_if_fail (object != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  type_node = json_object_get_member (object, "type");
  if (type_node == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the message has no “type”");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (type_node) || json_node_get_value_type (type_node) != G_TYPE_STRING)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "“type” must be a string");
      return NULL;
    }

  type_name = json_node_get_string (type_node);
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (g_str_equal (types[i].name, type_name))
      spec = &types[i];

  if (spec != NULL && !check_fields (object, spec, error))
    return NULL;

  message = g_new0 (RoadieMessage, 1);
  message->type = spec != NULL ? spec->type : ROADIE_MESSAGE_UNKNOWN;
  message->object = json_object_ref (object);
  return message;
}

void
roadie_message_free (RoadieMessage *message)
{
  if (message == NULL)
    return;
  g_clear_pointer (&message->object, json_object_unref);
  g_free (message);
}

const char *
roadie_message_type_name (RoadieMessageType type)
{
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (types[i].type == type)
      return types[i].name;
  return "unknown";
}

/* --- builders ------------------------------------------------------------ */

/* A builder with the object opened and "type" in first place: json-glib
 * keeps members in insertion order. */
static JsonBuilder *
begin_message (const char *type)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, type);
  return builder;
}

static char *
end_message (JsonBuilder *builder)
{
  g_autoptr(JsonNode) node = NULL;

  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  return json_to_string (node, FALSE);
}

static void
add_string (JsonBuilder *builder,
            const char  *name,
            const char  *value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value != NULL ? value : "");
}

static void
add_double (JsonBuilder *builder,
            const char  *name,
            double       value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_double_value (builder, value);
}

char *
roadie_message_hello (const char *server,
                      const char *version)
{
  g_autoptr(JsonBuilder) builder = begin_message ("hello");

  add_string (builder, "server", server);
  add_string (builder, "version", version);
  json_builder_set_member_name (builder, "protocol");
  json_builder_add_int_value (builder, ROADIE_PROTOCOL_VERSION);
  return end_message (builder);
}

char *
roadie_message_auth_ok (void)
{
  g_autoptr(JsonBuilder) builder = begin_message ("auth_ok");

  return end_message (builder);
}

char *
roadie_message_auth_failed (const char *reason)
{
  g_autoptr(JsonBuilder) builder = begin_message ("auth_failed");

  add_string (builder, "reason", reason);
  return end_message (builder);
}

char *
roadie_message_dj_auth (const char *dj_id,
                        const char *dj_name,
                        const char *dj_key)
{
  g_autoptr(JsonBuilder) builder = begin_message ("dj_auth");

  add_string (builder, "dj_id", dj_id);
  add_string (builder, "dj_name", dj_name);
  add_string (builder, "dj_key", dj_key);
  return end_message (builder);
}

char *
roadie_message_dj_heartbeat (double   ts,
                             gboolean mc_connected)
{
  g_autoptr(JsonBuilder) builder = begin_message ("dj_heartbeat");

  add_double (builder, "ts", ts);
  json_builder_set_member_name (builder, "mc_connected");
  json_builder_add_boolean_value (builder, mc_connected);
  return end_message (builder);
}

char *
roadie_message_heartbeat_ack (double server_time)
{
  g_autoptr(JsonBuilder) builder = begin_message ("heartbeat_ack");

  add_double (builder, "server_time", server_time);
  return end_message (builder);
}

char *
roadie_message_error (const char *reason)
{
  g_autoptr(JsonBuilder) builder = begin_message ("error");

  add_string (builder, "reason", reason);
  return end_message (builder);
}

char *
roadie_message_set_active_dj (const char *dj_id)
{
  g_autoptr(JsonBuilder) builder = begin_message ("set_active_dj");

  add_string (builder, "dj_id", dj_id);
  return end_message (builder);
}

char *
roadie_message_stats (JsonNode *stats)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(GList) names = NULL;
  JsonObject *object;

  g_return_val_if_fail (stats != NULL && JSON_NODE_HOLDS_OBJECT (stats), NULL);

  builder = begin_message ("stats");
  object = json_node_get_object (stats);
  /* json_object_get_members () keeps insertion order; a JsonObjectIter
   * would walk the hash table's. */
  names = json_object_get_members (object);
  for (GList *l = names; l != NULL; l = l->next)
    {
      if (g_str_equal (l->data, "type"))
        continue;
      json_builder_set_member_name (builder, l->data);
      json_builder_add_value (builder, json_node_copy (json_object_get_member (object, l->data)));
    }
  return end_message (builder);
}

double
roadie_protocol_now (void)
{
  return g_get_real_time () / (double) G_USEC_PER_SEC;
}
