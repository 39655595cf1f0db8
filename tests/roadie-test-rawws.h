/* roadie-test-rawws.h: a WebSocket client written by hand on a raw socket.
 *
 * For tests that must send what no client library would (unmasked frames,
 * reserved bits, invalid UTF-8, broken close frames) or must not read at
 * all. Everything is non-blocking and waits by iterating the default main
 * context, so a server in the same process keeps running meanwhile.
 * Header-only (static functions) so test programs need no extra library.
 */
#pragma once

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

typedef struct
{
  int         fd;
  GByteArray *in;          /* received, not yet parsed */
  gboolean    eof;         /* the peer closed (FIN or RST) */
  int         read_errno;  /* errno of the failed read, 0 for a clean FIN */
} RawWs;

typedef struct
{
  gboolean  fin;
  guint8    rsv;           /* the three reserved bits, 0..7 */
  guint8    opcode;
  gboolean  masked;
  GBytes   *payload;
} RawFrame;

static inline void
raw_frame_clear (RawFrame *frame)
{
  g_clear_pointer (&frame->payload, g_bytes_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RawFrame, raw_frame_clear)

static gboolean
raw_ws_flag_up (gint     fd,
                GIOCondition condition,
                gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
raw_ws_timed_out (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the main context until fd is ready for condition or the
 * deadline (monotonic µs) passes; FALSE on timeout. */
static inline gboolean
raw_ws_wait_fd (int          fd,
                GIOCondition condition,
                gint64       deadline)
{
  gboolean ready = FALSE;
  gboolean timed_out = FALSE;
  gint64 left = deadline - g_get_monotonic_time ();
  guint fd_id;
  guint timeout_id;

  if (left <= 0)
    return FALSE;
  fd_id = g_unix_fd_add (fd, condition | G_IO_HUP | G_IO_ERR, raw_ws_flag_up, &ready);
  timeout_id = g_timeout_add (MAX (1, left / 1000), raw_ws_timed_out, &timed_out);
  while (!ready && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!ready)
    g_source_remove (fd_id);
  if (!timed_out)
    g_source_remove (timeout_id);
  return ready;
}

static inline void
raw_ws_free (RawWs *ws)
{
  if (ws == NULL)
    return;
  if (ws->fd >= 0)
    close (ws->fd);
  g_byte_array_unref (ws->in);
  g_free (ws);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RawWs, raw_ws_free)

/* Reads what is there; FALSE when nothing came before the deadline. */
static inline gboolean
raw_ws_read_some (RawWs  *ws,
                  gint64  deadline)
{
  for (;;)
    {
      guint8 buf[65536];
      ssize_t n = recv (ws->fd, buf, sizeof buf, MSG_DONTWAIT);

      if (n > 0)
        {
          g_byte_array_append (ws->in, buf, n);
          return TRUE;
        }
      if (n == 0)
        {
          ws->eof = TRUE;
          return FALSE;
        }
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        {
          ws->read_errno = errno;
          ws->eof = TRUE;
          return FALSE;
        }
      if (!raw_ws_wait_fd (ws->fd, G_IO_IN, deadline))
        return FALSE;
    }
}

static inline void
raw_ws_write_all (RawWs        *ws,
                  const guint8 *data,
                  gsize         len,
                  guint         timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * (gint64) 1000;
  gsize done = 0;

  while (done < len)
    {
      ssize_t n = send (ws->fd, data + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);

      if (n > 0)
        {
          done += n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          if (!raw_ws_wait_fd (ws->fd, G_IO_OUT, deadline))
            g_error ("raw WebSocket: could not write %" G_GSIZE_FORMAT " bytes within %u ms",
                     len, timeout_ms);
          continue;
        }
      /* The server may already have closed on us: the test looks at what
       * came back, not at this write. */
      return;
    }
}

static inline char *
raw_ws_accept_for (const char *key)
{
  g_autofree char *joined = g_strconcat (key, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", NULL);
  g_autoptr(GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize digest_len = sizeof digest;

  g_checksum_update (sha1, (const guchar *) joined, strlen (joined));
  g_checksum_get_digest (sha1, digest, &digest_len);
  return g_base64_encode (digest, digest_len);
}

/* Connects to 127.0.0.1:port and sends request (or, when NULL, a correct
 * handshake for "/" with extra_headers added). Returns the connection with
 * *status set to the HTTP status and *headers to the response head;
 * status 0 if no answer came. For a 101, bytes after the head stay in
 * ws->in as WebSocket data. rcvbuf > 0 sets SO_RCVBUF before connecting. */
static inline RawWs *
raw_ws_connect_full (guint        port,
                     const char  *request,
                     const char  *extra_headers,
                     int          rcvbuf,
                     guint       *status,
                     char       **headers)
{
  struct sockaddr_in addr = { 0 };
  g_autofree char *own_request = NULL;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  RawWs *ws = g_new0 (RawWs, 1);
  guint8 *end;

  *status = 0;
  if (headers != NULL)
    *headers = NULL;
  ws->in = g_byte_array_new ();
  ws->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (ws->fd, >=, 0);
  if (rcvbuf > 0)
    g_assert_cmpint (setsockopt (ws->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), ==, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = htons (port);
  g_assert_cmpint (connect (ws->fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);

  if (request == NULL)
    {
      const char *key = "dGhlIHNhbXBsZSBub25jZQ==";

      own_request = g_strdup_printf ("GET / HTTP/1.1\r\n"
                                     "Host: 127.0.0.1:%u\r\n"
                                     "Upgrade: websocket\r\n"
                                     "Connection: Upgrade\r\n"
                                     "Sec-WebSocket-Key: %s\r\n"
                                     "Sec-WebSocket-Version: 13\r\n"
                                     "%s"
                                     "\r\n",
                                     port, key, extra_headers != NULL ? extra_headers : "");
      request = own_request;
    }
  raw_ws_write_all (ws, (const guint8 *) request, strlen (request), 5000);

  for (;;)
    {
      end = NULL;
      for (guint i = 0; i + 3 < ws->in->len; i++)
        if (memcmp (ws->in->data + i, "\r\n\r\n", 4) == 0)
          {
            end = ws->in->data + i + 4;
            break;
          }
      if (end != NULL)
        break;
      if (!raw_ws_read_some (ws, deadline))
        return ws;
    }

  {
    gsize head_len = end - ws->in->data;
    g_autofree char *head = g_strndup ((const char *) ws->in->data, head_len);

    if (g_str_has_prefix (head, "HTTP/1.1 ") && strlen (head) > 12)
      *status = (guint) g_ascii_strtoull (head + 9, NULL, 10);
    g_byte_array_remove_range (ws->in, 0, head_len);
    if (headers != NULL)
      *headers = g_steal_pointer (&head);
  }
  return ws;
}

static inline RawWs *
raw_ws_connect (guint port)
{
  g_autofree char *headers = NULL;
  g_autofree char *accept = raw_ws_accept_for ("dGhlIHNhbXBsZSBub25jZQ==");
  g_autofree char *accept_line = g_strdup_printf ("Sec-WebSocket-Accept: %s\r\n", accept);
  guint status = 0;
  RawWs *ws = raw_ws_connect_full (port, NULL, NULL, 0, &status, &headers);

  g_assert_cmpuint (status, ==, 101);
  g_assert_nonnull (headers);
  g_assert_nonnull (strstr (headers, accept_line));
  return ws;
}

/* One frame: first byte as given (FIN, RSV, opcode), masked with a fixed
 * key when mask is TRUE, with the shortest length encoding unless
 * force_len_bytes is 2 or 8. */
static inline void
raw_ws_send_frame_full (RawWs        *ws,
                        guint8        first_byte,
                        gboolean      mask,
                        const void   *payload,
                        gsize         len,
                        guint         force_len_bytes)
{
  static const guint8 key[4] = { 0x37, 0xfa, 0x21, 0x3d };
  g_autoptr(GByteArray) frame = g_byte_array_sized_new (len + 14);
  guint8 header[14];
  gsize header_len = 0;
  const guint8 *data = payload;

  header[header_len++] = first_byte;
  if (len < 126 && force_len_bytes == 0)
    header[header_len++] = (mask ? 0x80 : 0) | len;
  else if (len < 65536 && force_len_bytes != 8)
    {
      header[header_len++] = (mask ? 0x80 : 0) | 126;
      header[header_len++] = (len >> 8) & 0xff;
      header[header_len++] = len & 0xff;
    }
  else
    {
      header[header_len++] = (mask ? 0x80 : 0) | 127;
      for (int shift = 56; shift >= 0; shift -= 8)
        header[header_len++] = ((guint64) len >> shift) & 0xff;
    }
  if (mask)
    {
      memcpy (header + header_len, key, 4);
      header_len += 4;
    }
  g_byte_array_append (frame, header, header_len);
  for (gsize i = 0; i < len; i++)
    {
      guint8 byte = data[i] ^ (mask ? key[i & 3] : 0);
      g_byte_array_append (frame, &byte, 1);
    }
  raw_ws_write_all (ws, frame->data, frame->len, 10000);
}

#define RAW_FIN 0x80
#define RAW_OP_CONTINUATION 0x0
#define RAW_OP_TEXT 0x1
#define RAW_OP_BINARY 0x2
#define RAW_OP_CLOSE 0x8
#define RAW_OP_PING 0x9
#define RAW_OP_PONG 0xA

static inline void
raw_ws_send_text (RawWs      *ws,
                  const char *text)
{
  raw_ws_send_frame_full (ws, RAW_FIN | RAW_OP_TEXT, TRUE, text, strlen (text), 0);
}

/* A close frame with code (0 = empty payload) and reason. */
static inline void
raw_ws_send_close (RawWs      *ws,
                   guint       code,
                   const char *reason,
                   gsize       reason_len)
{
  guint8 payload[128];
  gsize len = 0;

  if (code != 0)
    {
      payload[len++] = code >> 8;
      payload[len++] = code & 0xff;
      g_assert_cmpuint (reason_len, <=, sizeof payload - 2);
      if (reason_len > 0)
        memcpy (payload + len, reason, reason_len);
      len += reason_len;
    }
  raw_ws_send_frame_full (ws, RAW_FIN | RAW_OP_CLOSE, TRUE, payload, len, 0);
}

/* The next frame, or FALSE on timeout or end of stream (see ws->eof). */
static inline gboolean
raw_ws_read_frame (RawWs    *ws,
                   guint     timeout_ms,
                   RawFrame *frame)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * (gint64) 1000;

  memset (frame, 0, sizeof *frame);
  for (;;)
    {
      const guint8 *p = ws->in->data;
      gsize have = ws->in->len;
      gsize at = 2;
      guint64 len;

      if (have >= 2)
        {
          len = p[1] & 0x7f;
          if (len == 126)
            {
              at = 4;
              len = have >= 4 ? ((guint64) p[2] << 8) | p[3] : G_MAXUINT64;
            }
          else if (len == 127)
            {
              at = 10;
              if (have >= 10)
                {
                  len = 0;
                  for (guint i = 2; i < 10; i++)
                    len = (len << 8) | p[i];
                }
              else
                len = G_MAXUINT64;
            }
          if (p[1] & 0x80)
            at += 4;
          if (len != G_MAXUINT64 && have >= at + len)
            {
              g_autofree guint8 *payload = g_memdup2 (p + at, len);

              if (p[1] & 0x80)
                for (guint64 i = 0; i < len; i++)
                  payload[i] ^= p[at - 4 + (i & 3)];
              frame->fin = (p[0] & 0x80) != 0;
              frame->rsv = (p[0] >> 4) & 0x7;
              frame->opcode = p[0] & 0x0f;
              frame->masked = (p[1] & 0x80) != 0;
              frame->payload = g_bytes_new_take (g_steal_pointer (&payload), len);
              g_byte_array_remove_range (ws->in, 0, at + len);
              return TRUE;
            }
        }
      if (ws->eof || !raw_ws_read_some (ws, deadline))
        return FALSE;
    }
}

static inline gushort
raw_frame_close_code (RawFrame *frame)
{
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (frame->payload, &len);

  if (len < 2)
    return 1005;   /* "no status": what an empty close frame means */
  return (p[0] << 8) | p[1];
}

static inline char *
raw_frame_text (RawFrame *frame)
{
  gsize len = 0;
  const char *p = g_bytes_get_data (frame->payload, &len);

  return g_strndup (p, len);
}

/* Reads frames until a close frame and returns its code (1005 for an
 * empty one), or 0 if the stream ended, or timed out, without one. Text
 * frames on the way are added to texts when given. */
static inline gushort
raw_ws_read_until_close (RawWs     *ws,
                         guint      timeout_ms,
                         GPtrArray *texts,
                         char     **reason)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * (gint64) 1000;

  if (reason != NULL)
    *reason = NULL;
  for (;;)
    {
      g_auto(RawFrame) frame = { 0 };
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;

      if (left <= 0 || !raw_ws_read_frame (ws, left, &frame))
        return 0;
      if (frame.opcode == RAW_OP_TEXT && texts != NULL)
        g_ptr_array_add (texts, raw_frame_text (&frame));
      if (frame.opcode == RAW_OP_CLOSE)
        {
          gsize len = g_bytes_get_size (frame.payload);

          if (reason != NULL && len > 2)
            *reason = g_strndup ((const char *) g_bytes_get_data (frame.payload, NULL) + 2, len - 2);
          return raw_frame_close_code (&frame);
        }
    }
}

/* Waits for the peer to end the TCP stream (FIN or RST). */
static inline gboolean
raw_ws_wait_eof (RawWs *ws,
                 guint  timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * (gint64) 1000;

  while (!ws->eof)
    {
      g_byte_array_set_size (ws->in, 0);
      if (!raw_ws_read_some (ws, deadline) && !ws->eof)
        return FALSE;
    }
  return TRUE;
}
