/* test-protocol.c: the JSON messages and the DJ keys file.
 *
 * Every message type parsed good and bad (each required field missing and
 * each given the wrong JSON type), the strict syntax pass against the
 * leniencies of json-glib 1.6, the size and nesting limits, the exact text
 * of every builder, and the keys file: format, line numbers in errors,
 * permissions, and keys kept out of error messages.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "roadie-dj-keys.h"
#include "roadie-error.h"
#include "roadie-protocol.h"
#include "roadie-test-util.h"

/* --- helpers ------------------------------------------------------------- */

static RoadieMessage *
parse_ok (const char *text)
{
  g_autoptr(GError) error = NULL;
  gushort code = 1;
  RoadieMessage *message;

  message = roadie_message_parse (text, strlen (text), 65536, &code, &error);
  if (message == NULL)
    g_test_message ("refused %s: %s", text, error->message);
  g_assert_no_error (error);
  g_assert_nonnull (message);
  g_assert_cmpuint (code, ==, 0);
  g_assert_nonnull (message->object);
  return message;
}

static void
assert_refused_len (const char *text,
                    gsize       len,
                    gsize       max_bytes,
                    gushort     expected_code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RoadieMessage) message = NULL;
  gushort code = 0;

  message = roadie_message_parse (text, len, max_bytes, &code, &error);
  if (message != NULL)
    g_test_message ("accepted, but should not: %.*s", (int) MIN (len, 200), text);
  g_assert_null (message);
  g_assert_nonnull (error);
  g_assert_true (error->domain == G_IO_ERROR);
  g_assert_cmpuint (code, ==, expected_code);
  /* A reason a client developer can act on, not an empty string. */
  g_assert_cmpuint (strlen (error->message), >, 10);
}

static void
assert_refused (const char *text,
                gushort     expected_code)
{
  assert_refused_len (text, strlen (text), 65536, expected_code);
}

/* A good message of each known type, as a JSON object to mutate. */
static const char * const good_messages[] = {
  "{\"type\":\"hello\",\"server\":\"roadie-engine\",\"version\":\"0.1.0\",\"protocol\":1}",
  "{\"type\":\"frame\",\"seq\":7,\"ts\":1706889600.125,\"rms\":0.25,\"peak\":0.5,"
    "\"bands\":[0.1,0.2,1],\"onset\":0.75,\"beat\":true,\"bpm\":128,\"confidence\":0.9,\"phase\":0.5}",
  "{\"type\":\"dj_auth\",\"dj_id\":\"dj_alice\",\"dj_name\":\"DJ Alice\",\"dj_key\":\"secret_key\"}",
  "{\"type\":\"auth_ok\"}",
  "{\"type\":\"auth_failed\",\"reason\":\"wrong key\"}",
  "{\"type\":\"dj_heartbeat\",\"ts\":1706889600.123,\"mc_connected\":true}",
  "{\"type\":\"heartbeat_ack\",\"server_time\":1706889600.125}",
  "{\"type\":\"dj_frame\",\"dj_id\":\"dj_alice\",\"seq\":0,\"ts\":1706889600,\"rms\":0,\"peak\":0,"
    "\"bands\":[],\"onset\":0,\"beat\":false,\"bpm\":0,\"confidence\":0,\"phase\":0}",
  "{\"type\":\"stats\",\"dj_connects\":15,\"dj_disconnects\":12,\"browser_connects\":45,"
    "\"browser_disconnects\":42,\"mc_reconnect_count\":2,\"current_djs\":3,"
    "\"current_browsers\":3,\"mc_connected\":true}",
  "{\"type\":\"error\",\"reason\":\"bad\"}",
  "{\"type\":\"set_active_dj\",\"dj_id\":\"dj_bob\"}",
};

static const RoadieMessageType good_types[] = {
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
};

static JsonObject *
object_from (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static char *
object_to_text (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, object);
  return json_to_string (node, FALSE);
}

/* A value of a JSON type the field does not have. */
static JsonNode *
wrong_value_for (JsonNode *node)
{
  JsonNode *wrong = json_node_new (JSON_NODE_VALUE);

  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    json_node_set_int (wrong, 42);
  else
    json_node_set_string (wrong, "42");
  return wrong;
}

/* --- parsing: good ------------------------------------------------------- */

static void
test_parse_every_type (void)
{
  G_STATIC_ASSERT (G_N_ELEMENTS (good_messages) == G_N_ELEMENTS (good_types));

  for (guint i = 0; i < G_N_ELEMENTS (good_messages); i++)
    {
      g_autoptr(RoadieMessage) message = parse_ok (good_messages[i]);

      g_assert_cmpint (message->type, ==, good_types[i]);
      g_assert_cmpstr (json_object_get_string_member (message->object, "type"), ==,
                       roadie_message_type_name (good_types[i]));
    }
}

static void
test_parse_unknown_type (void)
{
  const char *texts[] = {
    "{\"type\":\"mystery\",\"anything\":[1,{\"x\":null}]}",
    "{\"type\":\"\"}",
    "{\"type\":\"HELLO\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(RoadieMessage) message = parse_ok (texts[i]);

      g_assert_cmpint (message->type, ==, ROADIE_MESSAGE_UNKNOWN);
    }
  g_assert_cmpstr (roadie_message_type_name (ROADIE_MESSAGE_UNKNOWN), ==, "unknown");
}

static void
test_parse_extras_and_numbers (void)
{
  g_autoptr(RoadieMessage) extra = NULL;
  g_autoptr(RoadieMessage) ints = NULL;
  g_autoptr(RoadieMessage) no_name = NULL;
  g_autoptr(RoadieMessage) empty_name = NULL;
  g_autoptr(RoadieMessage) spaced = NULL;

  /* Extra fields ride along; a receiver may use them later. */
  extra = parse_ok ("{\"type\":\"dj_heartbeat\",\"ts\":1,\"mc_connected\":false,\"extra\":{\"a\":[]}}");
  g_assert_cmpint (extra->type, ==, ROADIE_MESSAGE_DJ_HEARTBEAT);
  g_assert_true (json_object_has_member (extra->object, "extra"));

  /* Integers are numbers too; negative and exponent forms are JSON. */
  ints = parse_ok ("{\"type\":\"heartbeat_ack\",\"server_time\":-1.5e3}");
  g_assert_cmpfloat (json_object_get_double_member (ints->object, "server_time"), ==, -1500.0);

  /* dj_name may be left out or empty. */
  no_name = parse_ok ("{\"type\":\"dj_auth\",\"dj_id\":\"a\",\"dj_key\":\"k\"}");
  g_assert_cmpint (no_name->type, ==, ROADIE_MESSAGE_DJ_AUTH);
  empty_name = parse_ok ("{\"type\":\"dj_auth\",\"dj_id\":\"a\",\"dj_name\":\"\",\"dj_key\":\"k\"}");
  g_assert_cmpint (empty_name->type, ==, ROADIE_MESSAGE_DJ_AUTH);

  /* Whitespace anywhere JSON allows it, "type" not first, escapes. */
  spaced = parse_ok (" \r\n\t{ \"mc_connected\" : true , \"ts\" : 0 ,\n \"type\" : \"dj_heartbeat\" ,"
                     " \"note\" : \"\\u00e9\\ud83c\\udfa7\\\"\\n\" } \n");
  g_assert_cmpint (spaced->type, ==, ROADIE_MESSAGE_DJ_HEARTBEAT);
}

/* --- parsing: bad -------------------------------------------------------- */

static void
test_parse_every_field_wrong (void)
{
  guint cases = 0;

  for (guint i = 0; i < G_N_ELEMENTS (good_messages); i++)
    {
      g_autoptr(JsonObject) good = object_from (good_messages[i]);
      g_autoptr(GList) names = json_object_get_members (good);

      for (GList *l = names; l != NULL; l = l->next)
        {
          const char *name = l->data;
          g_autoptr(JsonObject) without = object_from (good_messages[i]);
          g_autoptr(JsonObject) wrong = object_from (good_messages[i]);
          g_autofree char *without_text = NULL;
          g_autofree char *wrong_text = NULL;

          if (g_str_equal (name, "type"))
            continue;

          json_object_remove_member (without, name);
          without_text = object_to_text (without);
          if (g_str_equal (name, "dj_name"))
            {
              /* Optional: leaving it out is fine. */
              g_autoptr(RoadieMessage) message = parse_ok (without_text);
              g_assert_cmpint (message->type, ==, good_types[i]);
            }
          else
            assert_refused (without_text, 1007);

          json_object_set_member (wrong, name, wrong_value_for (json_object_get_member (good, name)));
          wrong_text = object_to_text (wrong);
          assert_refused (wrong_text, 1007);
          cases += 2;
        }
    }
  g_test_message ("%u missing/wrong-typed field cases refused", cases);
  g_assert_cmpuint (cases, >, 60);
}

static void
test_parse_field_values (void)
{
  const char *refused[] = {
    /* counts are whole and not negative */
    "{\"type\":\"frame\",\"seq\":-1,\"ts\":1,\"rms\":0,\"peak\":0,\"bands\":[],\"onset\":0,\"beat\":false,\"bpm\":0,\"confidence\":0,\"phase\":0}",
    "{\"type\":\"frame\",\"seq\":1.0,\"ts\":1,\"rms\":0,\"peak\":0,\"bands\":[],\"onset\":0,\"beat\":false,\"bpm\":0,\"confidence\":0,\"phase\":0}",
    /* bands hold numbers only */
    "{\"type\":\"frame\",\"seq\":1,\"ts\":1,\"rms\":0,\"peak\":0,\"bands\":[1,\"2\"],\"onset\":0,\"beat\":false,\"bpm\":0,\"confidence\":0,\"phase\":0}",
    "{\"type\":\"frame\",\"seq\":1,\"ts\":1,\"rms\":0,\"peak\":0,\"bands\":[1,null],\"onset\":0,\"beat\":false,\"bpm\":0,\"confidence\":0,\"phase\":0}",
    "{\"type\":\"frame\",\"seq\":1,\"ts\":1,\"rms\":0,\"peak\":0,\"bands\":{},\"onset\":0,\"beat\":false,\"bpm\":0,\"confidence\":0,\"phase\":0}",
    /* booleans are true/false, not 0/1 or strings */
    "{\"type\":\"dj_heartbeat\",\"ts\":1,\"mc_connected\":1}",
    "{\"type\":\"dj_heartbeat\",\"ts\":1,\"mc_connected\":\"true\"}",
    "{\"type\":\"dj_heartbeat\",\"ts\":null,\"mc_connected\":true}",
    /* numbers must be finite: 1e999 reaches json-glib as infinity */
    "{\"type\":\"dj_heartbeat\",\"ts\":1e999,\"mc_connected\":true}",
    /* dj_id: not empty, no blanks, at most 64 bytes */
    "{\"type\":\"dj_auth\",\"dj_id\":\"\",\"dj_key\":\"k\"}",
    "{\"type\":\"dj_auth\",\"dj_id\":\"dj alice\",\"dj_key\":\"k\"}",
    "{\"type\":\"dj_auth\",\"dj_id\":\"dj\\talice\",\"dj_key\":\"k\"}",
    "{\"type\":\"dj_auth\",\"dj_id\":\"x\\u001b[31m\",\"dj_key\":\"k\"}",
    "{\"type\":\"dj_auth\",\"dj_id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"dj_key\":\"k\"}",
    "{\"type\":\"set_active_dj\",\"dj_id\":\"\"}",
    /* dj_key: not empty */
    "{\"type\":\"dj_auth\",\"dj_id\":\"a\",\"dj_key\":\"\"}",
    /* dj_name: no control characters */
    "{\"type\":\"dj_auth\",\"dj_id\":\"a\",\"dj_name\":\"x\\ny\",\"dj_key\":\"k\"}",
    "{\"type\":\"dj_auth\",\"dj_id\":\"a\",\"dj_name\":null,\"dj_key\":\"k\"}",
  };
  g_autoptr(RoadieMessage) longest_id = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    assert_refused (refused[i], 1007);

  longest_id = parse_ok ("{\"type\":\"set_active_dj\",\"dj_id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
  g_assert_cmpint (longest_id->type, ==, ROADIE_MESSAGE_SET_ACTIVE_DJ);
}

static void
test_parse_not_json (void)
{
  const char *texts[] = {
    "",
    "   ",
    "hello",
    "{",
    "{\"type\":\"auth_ok\"",
    "{\"type\":\"auth_ok\",}",
    "{\"type\" \"auth_ok\"}",
    "[1,2,]",
    "{\"type\":\"auth_ok\"} x",
    /* All of these json-glib 1.6 accepts on its own. */
    "{\"type\":\"auth_ok\"}{\"type\":\"auth_ok\"}",
    "{/* comment */\"type\":\"auth_ok\"}",
    "{'type':'auth_ok'}",
    "{\"type\":\"heartbeat_ack\",\"server_time\":0x10}",
    "{\"type\":\"heartbeat_ack\",\"server_time\":01}",
    "{\"type\":\"heartbeat_ack\",\"server_time\":1.}",
    "{\"type\":\"heartbeat_ack\",\"server_time\":.5}",
    "{\"type\":\"heartbeat_ack\",\"server_time\":+1}",
    "{\"type\":\"heartbeat_ack\",\"server_time\":NaN}",
    "{\"type\":\"heartbeat_ack\",\"server_time\":Infinity}",
    "{\"type\":True}",
    "{type:\"auth_ok\"}",
    /* strings: raw control characters, bad escapes, NUL, lone surrogates */
    "{\"type\":\"a\tb\"}",
    "{\"type\":\"\\x41\"}",
    "{\"type\":\"\\u12\"}",
    "{\"type\":\"a\\u0000b\"}",
    "{\"type\":\"\\ud800\"}",
    "{\"type\":\"\\udc00x\"}",
    "{\"type\":\"\\ud800\\u0041\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    assert_refused (texts[i], 1007);
}

static void
test_parse_not_an_object (void)
{
  const char *texts[] = {
    "42",
    "\"frame\"",
    "null",
    "true",
    "[{\"type\":\"auth_ok\"}]",
    "{}",
    "{\"type\":1}",
    "{\"type\":null}",
    "{\"type\":[\"auth_ok\"]}",
    "{\"type\":{\"name\":\"auth_ok\"}}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    assert_refused (texts[i], 1007);
}

static void
test_parse_invalid_utf8 (void)
{
  const char *texts[] = {
    "{\"type\":\"\xff\"}",
    "{\"type\":\"\xc3\x28\"}",          /* bad continuation */
    "{\"type\":\"\xe0\x80\x80\"}",      /* overlong */
    "{\"type\":\"\xed\xa0\x80\"}",      /* UTF-16 surrogate in UTF-8 */
    "{\"type\":\"\xf4\x90\x80\x80\"}",  /* above U+10FFFF */
    "{\"type\":\"auth_ok\"}\xc3",       /* truncated at the end */
  };
  const char with_nul[] = "{\"type\":\"auth_ok\"}\0";

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    assert_refused (texts[i], 1007);
  /* A NUL byte inside the length. */
  assert_refused_len (with_nul, sizeof with_nul - 1, 0, 1007);
}

static void
test_parse_size_limit (void)
{
  g_autoptr(GString) text = g_string_new ("{\"type\":\"error\",\"reason\":\"");
  g_autoptr(RoadieMessage) at_limit = NULL;
  g_autoptr(RoadieMessage) unlimited = NULL;
  g_autoptr(GError) error = NULL;
  gushort code = 0;

  while (text->len < 1000 - 2)
    g_string_append_c (text, 'x');
  g_string_append (text, "\"}");
  g_assert_cmpuint (text->len, ==, 1000);

  at_limit = roadie_message_parse (text->str, text->len, 1000, &code, &error);
  g_assert_no_error (error);
  g_assert_nonnull (at_limit);

  assert_refused_len (text->str, text->len, 999, 1009);
  /* The size is checked before anything else: garbage over the limit is
   * too big, not invalid. */
  assert_refused_len ("\xff\xff\xff\xff", 4, 3, 1009);

  unlimited = roadie_message_parse (text->str, text->len, 0, &code, &error);
  g_assert_no_error (error);
  g_assert_nonnull (unlimited);
}

static void
test_parse_deep_nesting (void)
{
  /* json-glib 1.6 recurses once per level with no limit and overflows the
   * stack at about 200 000 levels; the syntax pass stops at 32. */
  gsize n = 300000;
  g_autofree char *deep = g_malloc (n + 64);
  g_autoptr(GString) nested = g_string_new ("{\"type\":\"x\",\"a\":");
  g_autoptr(RoadieMessage) ok = NULL;

  memset (deep, '[', n);
  assert_refused_len (deep, n, 0, 1007);

  for (guint i = 0; i < 30; i++)
    g_string_append_c (nested, '[');
  for (guint i = 0; i < 30; i++)
    g_string_append_c (nested, ']');
  g_string_append_c (nested, '}');
  ok = parse_ok (nested->str);
  g_assert_cmpint (ok->type, ==, ROADIE_MESSAGE_UNKNOWN);

  g_string_assign (nested, "{\"type\":\"x\",\"a\":");
  for (guint i = 0; i < 40; i++)
    g_string_append_c (nested, '[');
  for (guint i = 0; i < 40; i++)
    g_string_append_c (nested, ']');
  g_string_append_c (nested, '}');
  assert_refused (nested->str, 1007);
}

static void
test_parse_errors_name_the_field (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RoadieMessage) message = NULL;
  const char *text = "{\"type\":\"dj_heartbeat\",\"ts\":\"now\",\"mc_connected\":true}";
  gushort code = 0;

  message = roadie_message_parse (text, strlen (text), 0, &code, &error);
  g_assert_null (message);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "ts"));
  g_assert_nonnull (strstr (error->message, "dj_heartbeat"));
  g_assert_nonnull (strstr (error->message, "number"));
}

/* --- builders ------------------------------------------------------------ */

static void
assert_builds (char              *built,
               const char        *expected,
               RoadieMessageType  type)
{
  g_autofree char *text = built;
  g_autoptr(RoadieMessage) message = NULL;

  g_assert_cmpstr (text, ==, expected);
  message = parse_ok (text);
  g_assert_cmpint (message->type, ==, type);
}

static void
test_build_exact_text (void)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) stats = NULL;

  assert_builds (roadie_message_hello ("roadie-engine", "0.1.0"),
                 "{\"type\":\"hello\",\"server\":\"roadie-engine\",\"version\":\"0.1.0\",\"protocol\":1}",
                 ROADIE_MESSAGE_HELLO);
  assert_builds (roadie_message_auth_ok (), "{\"type\":\"auth_ok\"}", ROADIE_MESSAGE_AUTH_OK);
  assert_builds (roadie_message_auth_failed ("unknown DJ \"x\""),
                 "{\"type\":\"auth_failed\",\"reason\":\"unknown DJ \\\"x\\\"\"}",
                 ROADIE_MESSAGE_AUTH_FAILED);
  assert_builds (roadie_message_dj_auth ("dj_alice", "DJ Alice", "secret_key"),
                 "{\"type\":\"dj_auth\",\"dj_id\":\"dj_alice\",\"dj_name\":\"DJ Alice\",\"dj_key\":\"secret_key\"}",
                 ROADIE_MESSAGE_DJ_AUTH);
  assert_builds (roadie_message_dj_heartbeat (1706889600.5, TRUE),
                 "{\"type\":\"dj_heartbeat\",\"ts\":1706889600.5,\"mc_connected\":true}",
                 ROADIE_MESSAGE_DJ_HEARTBEAT);
  assert_builds (roadie_message_dj_heartbeat (2.0, FALSE),
                 "{\"type\":\"dj_heartbeat\",\"ts\":2.0,\"mc_connected\":false}",
                 ROADIE_MESSAGE_DJ_HEARTBEAT);
  assert_builds (roadie_message_heartbeat_ack (1706889600.25),
                 "{\"type\":\"heartbeat_ack\",\"server_time\":1706889600.25}",
                 ROADIE_MESSAGE_HEARTBEAT_ACK);
  assert_builds (roadie_message_error ("not JSON"),
                 "{\"type\":\"error\",\"reason\":\"not JSON\"}",
                 ROADIE_MESSAGE_ERROR);
  assert_builds (roadie_message_set_active_dj ("dj_bob"),
                 "{\"type\":\"set_active_dj\",\"dj_id\":\"dj_bob\"}",
                 ROADIE_MESSAGE_SET_ACTIVE_DJ);

  json_builder_begin_object (builder);
  for (guint i = 0; i < 7; i++)
    {
      static const char *names[] = {
        "dj_connects", "dj_disconnects", "browser_connects", "browser_disconnects",
        "mc_reconnect_count", "current_djs", "current_browsers",
      };
      json_builder_set_member_name (builder, names[i]);
      json_builder_add_int_value (builder, i * 10);
    }
  json_builder_set_member_name (builder, "mc_connected");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_end_object (builder);
  stats = json_builder_get_root (builder);
  assert_builds (roadie_message_stats (stats),
                 "{\"type\":\"stats\",\"dj_connects\":0,\"dj_disconnects\":10,\"browser_connects\":20,"
                 "\"browser_disconnects\":30,\"mc_reconnect_count\":40,\"current_djs\":50,"
                 "\"current_browsers\":60,\"mc_connected\":false}",
                 ROADIE_MESSAGE_STATS);
}

static void
test_build_round_trip_values (void)
{
  /* Awkward strings survive escaping; times keep sub-millisecond precision. */
  const char *reason = "quote \" backslash \\ newline \n tab \t é 🎧";
  g_autofree char *error_text = roadie_message_error (reason);
  g_autofree char *ack_text = roadie_message_heartbeat_ack (1706889600.123456);
  g_autoptr(RoadieMessage) error_message = parse_ok (error_text);
  g_autoptr(RoadieMessage) ack = parse_ok (ack_text);
  double now = roadie_protocol_now ();

  g_assert_cmpstr (json_object_get_string_member (error_message->object, "reason"), ==, reason);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (ack->object, "server_time"),
                                  1706889600.123456, 1e-6);
  g_assert_true (g_str_has_prefix (error_text, "{\"type\":\"error\""));
  g_assert_null (strchr (error_text, '\n'));

  /* roadie_protocol_now () is Unix seconds, fraction included. */
  g_assert_cmpfloat (fabs (now - g_get_real_time () / 1e6), <, 1.0);
  g_assert_cmpfloat (now, >, 1.6e9);
}

/* --- DJ keys ------------------------------------------------------------- */

static const char keys_text[] =
  "# Roadie DJ keys\n"
  "\n"
  "dj_alice   secret_key\n"
  "   # an indented comment\n"
  "dj_bob\tb0b-key#with-hash\r\n"
  "  admin  the-admin-key  \n"
  "\t\n"
  "dj_último ключ";

static void
test_keys_parse_and_check (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RoadieDjKeys) keys = roadie_dj_keys_parse (keys_text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (keys);
  g_assert_cmpuint (roadie_dj_keys_count (keys), ==, 4);

  g_assert_true (roadie_dj_keys_check (keys, "dj_alice", "secret_key"));
  g_assert_true (roadie_dj_keys_check (keys, "dj_bob", "b0b-key#with-hash"));
  g_assert_true (roadie_dj_keys_check (keys, "admin", "the-admin-key"));
  g_assert_true (roadie_dj_keys_check (keys, "dj_último", "ключ"));
  g_assert_true (roadie_dj_keys_contains (keys, "admin"));
  g_assert_false (roadie_dj_keys_contains (keys, "dj_carol"));

  /* Wrong key, a prefix, a longer key, another DJ's key, case. */
  g_assert_false (roadie_dj_keys_check (keys, "dj_alice", "secret_kex"));
  g_assert_false (roadie_dj_keys_check (keys, "dj_alice", "secret_ke"));
  g_assert_false (roadie_dj_keys_check (keys, "dj_alice", "secret_key2"));
  g_assert_false (roadie_dj_keys_check (keys, "dj_alice", "the-admin-key"));
  g_assert_false (roadie_dj_keys_check (keys, "dj_alice", "SECRET_KEY"));
  g_assert_false (roadie_dj_keys_check (keys, "dj_alice", ""));
  g_assert_false (roadie_dj_keys_check (keys, "dj_alice", NULL));
  /* Unknown DJ, even with a key that exists for someone else. */
  g_assert_false (roadie_dj_keys_check (keys, "dj_carol", "secret_key"));
  g_assert_false (roadie_dj_keys_check (keys, NULL, "secret_key"));
  /* Comments are not entries. */
  g_assert_false (roadie_dj_keys_contains (keys, "#"));
}

static void
test_keys_empty (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RoadieDjKeys) keys = roadie_dj_keys_parse ("# nobody yet\n\n", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (roadie_dj_keys_count (keys), ==, 0);
  g_assert_false (roadie_dj_keys_check (keys, "dj_alice", "secret_key"));
}

static void
test_keys_malformed (void)
{
  struct {
    const char *text;
    const char *expect_line;
    const char *expect_word;
  } cases[] = {
    { "dj_alice secret\ndj_bob\n", "line 2", "one word" },
    { "# c\n\ndj_alice secret extra-word\n", "line 3", "more than two words" },
    { "dj_alice secret # trailing comment\n", "line 1", "comments go on their own line" },
    { "dj_alice a\ndj_bob b\r\ndj_alice c\n", "line 3", "listed twice" },
    { "dj_alice \x01key\n", "line 1", "control characters" },
    { "dj_alice \xff\xfe\n", NULL, "UTF-8" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RoadieDjKeys) keys = roadie_dj_keys_parse (cases[i].text, &error);

      g_assert_null (keys);
      g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING);
      g_test_message ("%s", error->message);
      if (cases[i].expect_line != NULL)
        g_assert_nonnull (strstr (error->message, cases[i].expect_line));
      g_assert_nonnull (strstr (error->message, cases[i].expect_word));
      /* The keys on the bad line (or before it) never show. */
      g_assert_null (strstr (error->message, "secret"));
      g_assert_null (strstr (error->message, "key\n"));
    }
}

static char *
write_keys_file (const char *name,
                 const char *text,
                 int         mode)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (roadie_test_tmpdir (), name, NULL);

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chmod (path, mode), ==, 0);
  return path;
}

static void
test_keys_load_file (void)
{
  g_autofree char *path = write_keys_file ("keys-600", keys_text, 0600);
  g_autofree char *path_400 = write_keys_file ("keys-400", "admin k\n", 0400);
  g_autoptr(GError) error = NULL;
  g_autoptr(RoadieDjKeys) keys = roadie_dj_keys_load (path, &error);
  g_autoptr(RoadieDjKeys) keys_400 = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (roadie_dj_keys_count (keys), ==, 4);
  g_assert_true (roadie_dj_keys_check (keys, "dj_alice", "secret_key"));

  keys_400 = roadie_dj_keys_load (path_400, &error);
  g_assert_no_error (error);
  g_assert_true (roadie_dj_keys_check (keys_400, "admin", "k"));
}

static void
test_keys_load_refuses_open_files (void)
{
  const int modes[] = { 0644, 0640, 0604, 0660, 0620, 0602, 0601, 0610, 0666 };

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autofree char *name = g_strdup_printf ("keys-%o", modes[i]);
      g_autofree char *path = write_keys_file (name, keys_text, modes[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(RoadieDjKeys) keys = roadie_dj_keys_load (path, &error);

      g_assert_null (keys);
      g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, "chmod 600"));
      g_assert_null (strstr (error->message, "secret_key"));
    }
}

static void
test_keys_load_errors (void)
{
  g_autofree char *missing = g_build_filename (roadie_test_tmpdir (), "no-such-keys", NULL);
  g_autofree char *bad = write_keys_file ("keys-bad", "# ok\ndj_alice secret_key\ndj_bob\n", 0600);
  g_autoptr(GError) error = NULL;
  g_autoptr(RoadieDjKeys) keys = NULL;

  keys = roadie_dj_keys_load (missing, &error);
  g_assert_null (keys);
  g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  keys = roadie_dj_keys_load (roadie_test_tmpdir (), &error);
  g_assert_null (keys);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  keys = roadie_dj_keys_load (bad, &error);
  g_assert_null (keys);
  g_assert_error (error, ROADIE_ERROR, ROADIE_ERROR_INVALID_SETTING);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, bad));
  g_assert_nonnull (strstr (error->message, "line 3"));
  g_assert_null (strstr (error->message, "secret_key"));
}

static void
test_keys_reference_counted (void)
{
  g_autoptr(GError) error = NULL;
  RoadieDjKeys *keys = roadie_dj_keys_parse ("dj_alice secret_key\n", &error);
  RoadieDjKeys *held;

  g_assert_no_error (error);
  held = roadie_dj_keys_ref (keys);
  g_assert_true (held == keys);
  roadie_dj_keys_free (keys);
  /* Still usable through the other reference. */
  g_assert_true (roadie_dj_keys_check (held, "dj_alice", "secret_key"));
  roadie_dj_keys_free (held);
}

int
main (int argc, char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/roadie/protocol/parse/every-type", test_parse_every_type);
  g_test_add_func ("/roadie/protocol/parse/unknown-type", test_parse_unknown_type);
  g_test_add_func ("/roadie/protocol/parse/extras-and-numbers", test_parse_extras_and_numbers);
  g_test_add_func ("/roadie/protocol/parse/every-field-wrong", test_parse_every_field_wrong);
  g_test_add_func ("/roadie/protocol/parse/field-values", test_parse_field_values);
  g_test_add_func ("/roadie/protocol/parse/not-json", test_parse_not_json);
  g_test_add_func ("/roadie/protocol/parse/not-an-object", test_parse_not_an_object);
  g_test_add_func ("/roadie/protocol/parse/invalid-utf8", test_parse_invalid_utf8);
  g_test_add_func ("/roadie/protocol/parse/size-limit", test_parse_size_limit);
  g_test_add_func ("/roadie/protocol/parse/deep-nesting", test_parse_deep_nesting);
  g_test_add_func ("/roadie/protocol/parse/errors-name-the-field", test_parse_errors_name_the_field);
  g_test_add_func ("/roadie/protocol/build/exact-text", test_build_exact_text);
  g_test_add_func ("/roadie/protocol/build/round-trip", test_build_round_trip_values);
  g_test_add_func ("/roadie/dj-keys/parse-and-check", test_keys_parse_and_check);
  g_test_add_func ("/roadie/dj-keys/empty", test_keys_empty);
  g_test_add_func ("/roadie/dj-keys/malformed", test_keys_malformed);
  g_test_add_func ("/roadie/dj-keys/load", test_keys_load_file);
  g_test_add_func ("/roadie/dj-keys/refuses-open-files", test_keys_load_refuses_open_files);
  g_test_add_func ("/roadie/dj-keys/load-errors", test_keys_load_errors);
  g_test_add_func ("/roadie/dj-keys/reference-counted", test_keys_reference_counted);

  return g_test_run ();
}
