/* roadie-ring-buffer.c: a lock-free single-producer/single-consumer float ring.
 *
 * Positions are free-running 64-bit counters (they never wrap in practice),
 * so full and empty are told apart without a spare slot. The producer
 * publishes its position with release order after copying and the consumer
 * reads it with acquire order, and the other way round, so each side sees
 * the other's samples or free space before the position that announces them.
 */
#include "config.h"

#include <stdatomic.h>
#include <string.h>

#include "roadie-ring-buffer.h"

struct _RoadieRingBuffer
{
  float           *data;
  gsize            capacity;   /* a power of two */
  gsize            mask;
  /* Apart, so the two threads do not fight over one cache line. */
  _Alignas (64) _Atomic guint64 write_pos;
  _Alignas (64) _Atomic guint64 read_pos;
  _Alignas (64) _Atomic guint64 dropped;
};

RoadieRingBuffer *
roadie_ring_buffer_new (gsize capacity)
{
  RoadieRingBuffer *self;
  gsize size = 1;

  g_return_val_if_fail (capacity > 0 && capacity <= G_MAXSIZE / 2, NULL);

  while (size < capacity)
    size <<= 1;

  self = g_aligned_alloc0 (1, sizeof (RoadieRingBuffer), 64);
  self->data = g_new0 (float, size);
  self->capacity = size;
  self->mask = size - 1;
  atomic_init (&self->write_pos, 0);
  atomic_init (&self->read_pos, 0);
  atomic_init (&self->dropped, 0);

  return self;
}

void
roadie_ring_buffer_free (RoadieRingBuffer *self)
{
  if (self == NULL)
    return;

  g_free (self->data);
  g_aligned_free (self);
}

gsize
roadie_ring_buffer_get_capacity (RoadieRingBuffer *self)
{
  return self->capacity;
}

/* Room for the producer, and where it starts. */
static gsize
producer_space (RoadieRingBuffer *self,
                guint64          *write_pos)
{
  guint64 read_pos = atomic_load_explicit (&self->read_pos, memory_order_acquire);

  *write_pos = atomic_load_explicit (&self->write_pos, memory_order_relaxed);

  return self->capacity - (gsize) (*write_pos - read_pos);
}

gsize
roadie_ring_buffer_write (RoadieRingBuffer *self,
                          const float      *samples,
                          gsize             n)
{
  guint64 write_pos;
  gsize space = producer_space (self, &write_pos);
  gsize count = MIN (n, space);
  gsize start = (gsize) write_pos & self->mask;
  gsize first = MIN (count, self->capacity - start);

  memcpy (self->data + start, samples, first * sizeof (float));
  memcpy (self->data, samples + first, (count - first) * sizeof (float));
  atomic_store_explicit (&self->write_pos, write_pos + count, memory_order_release);
  if (count < n)
    atomic_fetch_add_explicit (&self->dropped, n - count, memory_order_relaxed);

  return count;
}

gsize
roadie_ring_buffer_write_mono_mix (RoadieRingBuffer *self,
                                   const float      *interleaved,
                                   gsize             n_frames,
                                   guint             n_channels)
{
  guint64 write_pos;
  gsize space;
  gsize count;
  float scale;

  if (n_channels <= 1)
    return roadie_ring_buffer_write (self, interleaved, n_frames);

  space = producer_space (self, &write_pos);
  count = MIN (n_frames, space);
  scale = 1.0f / n_channels;
  for (gsize i = 0; i < count; i++)
    {
      const float *frame = interleaved + i * n_channels;
      float sum = 0.0f;

      for (guint c = 0; c < n_channels; c++)
        sum += frame[c];
      self->data[(gsize) (write_pos + i) & self->mask] = sum * scale;
    }
  atomic_store_explicit (&self->write_pos, write_pos + count, memory_order_release);
  if (count < n_frames)
    atomic_fetch_add_explicit (&self->dropped, n_frames - count, memory_order_relaxed);

  return count;
}

gsize
roadie_ring_buffer_read (RoadieRingBuffer *self,
                         float            *samples,
                         gsize             n)
{
  guint64 write_pos = atomic_load_explicit (&self->write_pos, memory_order_acquire);
  guint64 read_pos = atomic_load_explicit (&self->read_pos, memory_order_relaxed);
  gsize count = MIN (n, (gsize) (write_pos - read_pos));
  gsize start = (gsize) read_pos & self->mask;
  gsize first = MIN (count, self->capacity - start);

  memcpy (samples, self->data + start, first * sizeof (float));
  memcpy (samples + first, self->data, (count - first) * sizeof (float));
  atomic_store_explicit (&self->read_pos, read_pos + count, memory_order_release);

  return count;
}

gsize
roadie_ring_buffer_get_n_readable (RoadieRingBuffer *self)
{
  guint64 write_pos = atomic_load_explicit (&self->write_pos, memory_order_acquire);
  guint64 read_pos = atomic_load_explicit (&self->read_pos, memory_order_relaxed);

  return (gsize) (write_pos - read_pos);
}

guint64
roadie_ring_buffer_get_n_dropped (RoadieRingBuffer *self)
{
  return atomic_load_explicit (&self->dropped, memory_order_relaxed);
}
