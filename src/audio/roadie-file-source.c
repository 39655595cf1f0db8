/* roadie-file-source.c: mono samples from an audio file (libsndfile).
 *
 * libsndfile decodes to interleaved floats; we read a block at a time into a
 * buffer allocated once at open and average the channels.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <sndfile.h>

#include "roadie-file-source.h"

#define BLOCK_FRAMES 4096

struct _RoadieFileSource
{
  SNDFILE *file;
  SF_INFO  info;
  float   *interleaved;  /* BLOCK_FRAMES × channels */
};

RoadieFileSource *
roadie_file_source_open (const char  *path,
                         GError     **error)
{
  g_autoptr(RoadieFileSource) self = g_new0 (RoadieFileSource, 1);
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  /* Opened by us first, so "missing" and "not allowed" get their own
   * messages; libsndfile says "System error" for both. */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot read the audio file %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }

  self->file = sf_open_fd (fd, SFM_READ, &self->info, TRUE);
  if (self->file == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s is not an audio file Roadie can read (WAV, FLAC or OGG): %s",
                   path, sf_strerror (NULL));
      return NULL;
    }
  if (self->info.channels < 1 || self->info.samplerate < 1000 || self->info.samplerate > 768000)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s has %d channels at %d Hz, which Roadie cannot analyse",
                   path, self->info.channels, self->info.samplerate);
      return NULL;
    }

  self->interleaved = g_new (float, (gsize) BLOCK_FRAMES * self->info.channels);

  return g_steal_pointer (&self);
}

void
roadie_file_source_free (RoadieFileSource *self)
{
  if (self == NULL)
    return;

  if (self->file != NULL)
    sf_close (self->file);
  g_free (self->interleaved);
  g_free (self);
}

guint
roadie_file_source_get_sample_rate (RoadieFileSource *self)
{
  return self->info.samplerate;
}

guint
roadie_file_source_get_channels (RoadieFileSource *self)
{
  return self->info.channels;
}

guint64
roadie_file_source_get_n_frames (RoadieFileSource *self)
{
  return self->info.frames;
}

gsize
roadie_file_source_read (RoadieFileSource *self,
                         float            *mono,
                         gsize             n)
{
  guint channels = self->info.channels;
  gsize done = 0;

  if (channels == 1)
    {
      sf_count_t got = sf_readf_float (self->file, mono, n);

      return got > 0 ? (gsize) got : 0;
    }

  while (done < n)
    {
      sf_count_t want = MIN (n - done, BLOCK_FRAMES);
      sf_count_t got = sf_readf_float (self->file, self->interleaved, want);

      if (got <= 0)
        break;
      for (sf_count_t i = 0; i < got; i++)
        {
          float sum = 0.0f;

          for (guint c = 0; c < channels; c++)
            sum += self->interleaved[i * channels + c];
          mono[done + i] = sum / channels;
        }
      done += got;
      if (got < want)
        break;
    }

  return done;
}

gboolean
roadie_file_source_rewind (RoadieFileSource *self)
{
  return sf_seek (self->file, 0, SEEK_SET) == 0;
}
