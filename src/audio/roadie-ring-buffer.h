/* roadie-ring-buffer.h: a lock-free single-producer/single-consumer ring of
 * float samples.
 *
 * The producer is PipeWire's real-time thread, the consumer the GLib main
 * loop. Storage is allocated once in roadie_ring_buffer_new; write and read
 * never allocate, lock or log, so the real-time side may call write freely.
 * Exactly one thread writes and one thread reads.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RoadieRingBuffer RoadieRingBuffer;

/* Holds at least capacity samples (rounded up to a power of two). */
RoadieRingBuffer *roadie_ring_buffer_new            (gsize             capacity);
void              roadie_ring_buffer_free           (RoadieRingBuffer *self);
gsize             roadie_ring_buffer_get_capacity   (RoadieRingBuffer *self);
/* Producer side: copies up to n samples, returns how many fit. What does not
 * fit is dropped (and counted) rather than overwriting unread samples, which
 * would race with the reader. */
gsize             roadie_ring_buffer_write          (RoadieRingBuffer *self,
                                                     const float      *samples,
                                                     gsize             n);
/* Producer side, for interleaved frames: writes the mean of the channels of
 * each frame. Returns the number of frames written. */
gsize             roadie_ring_buffer_write_mono_mix (RoadieRingBuffer *self,
                                                     const float      *interleaved,
                                                     gsize             n_frames,
                                                     guint            n_channels);
/* Consumer side: copies up to n samples out, returns how many. */
gsize             roadie_ring_buffer_read           (RoadieRingBuffer *self,
                                                     float            *samples,
                                                     gsize             n);
/* Samples waiting to be read (exact from the consumer's side). */
gsize             roadie_ring_buffer_get_n_readable (RoadieRingBuffer *self);
/* Samples the producer could not store since creation. */
guint64           roadie_ring_buffer_get_n_dropped  (RoadieRingBuffer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadieRingBuffer, roadie_ring_buffer_free)

G_END_DECLS
