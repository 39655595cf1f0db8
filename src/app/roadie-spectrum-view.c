/* roadie-spectrum-view.c: the live spectrum and beat display.
 *
 * Frames only set targets; one tick callback on the frame clock moves the
 * drawn state towards them (bars: fast attack, slower release; peak
 * markers: hold, then fall under gravity; the beat pulse: 150 ms decay)
 * and queues a draw. The callback is removed once the view is idle and
 * everything has come to rest, and added again by the next live frame.
 *
 * Geometry is computed so that nothing is drawn outside the allocation
 * whatever the band count (1 to ROADIE_LIVE_FRAME_MAX_BANDS) or size:
 * the tests check the render node's bounds, so there is no clip to hide
 * a mistake.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "roadie-spectrum-view.h"

#define MIN_WIDTH          320
#define MIN_HEIGHT         160
#define NATURAL_WIDTH      640
#define NATURAL_HEIGHT     280

/* Time constants, in microseconds of frame-clock time. */
#define ATTACK_TAU_US      12000    /* bars rise within a frame or so */
#define RELEASE_TAU_US     140000   /* and fall back visibly slower */
#define PEAK_HOLD_US       1000000
#define PEAK_GRAVITY       2.2      /* full heights per s²: 1 → 0 in ~1 s */
#define PULSE_US           150000
#define FRAME_TIMEOUT_US   1000000  /* no frame for this long: idle */
#define FADE_IN_US         180000
#define FADE_OUT_US        350000
#define CONFIDENCE_TAU_US  400000
#define SUMMARY_EVERY_US   1000000  /* the accessible label, at most this often */

/* Confidence words, with hysteresis so they do not flicker. */
#define STEADY_ENTER       0.45
#define STEADY_LEAVE       0.30
/* The shown tempo changes only when the estimate moves this far. */
#define BPM_HYSTERESIS     0.6

#define CONFIDENCE_SEGMENTS 5

typedef struct
{
  PangoLayout *layout;
  char        *text;
  int          size;     /* Pango units */
  int          width;    /* Pango units, -1 = none */
} TextCache;

typedef struct
{
  double          bpm;
  gboolean        steady;
  guint           lit;
  graphene_rect_t area;
  GdkRGBA         colors[4];
} TempoKey;

struct _RoadieSpectrumView
{
  GtkWidget        parent_instance;

  /* Targets, from the last frame */
  RoadieLiveFrame  target;
  /* Frame-clock time of the first step after the last push: the time
   * out runs on the same clock as the animation. */
  gint64           last_frame_us;
  gboolean         frame_arrived;
  gboolean         beat_pending;

  /* What is drawn */
  guint            n_bands;
  float            level[ROADIE_LIVE_FRAME_MAX_BANDS];
  float            peak[ROADIE_LIVE_FRAME_MAX_BANDS];
  float            peak_velocity[ROADIE_LIVE_FRAME_MAX_BANDS];
  gint64           peak_hold_until[ROADIE_LIVE_FRAME_MAX_BANDS];
  double           pulse;
  gint64           beat_us;
  double           bpm_shown;
  double           confidence_shown;
  gboolean         steady;
  double           live_amount;      /* 0 idle … 1 live, for the cross-fade */

  /* Idle state: title NULL = live */
  char            *idle_title;
  char            *idle_detail;
  gboolean         idle_is_explicit;

  guint            tick_id;
  /* Hidden (another page, the window behind the tray): the animation waits
   * for the view to be shown again instead of running the frame clock. */
  gboolean         tick_paused;
  gint64           last_tick_us;

  char            *summary;
  gint64           summary_us;
  guint            summary_timeout_id;
  /* The summary wanted now, and what it was made from: remade only when
   * those change, not on every frame. */
  char            *wanted_summary;
  guint            idle_generation;
  guint            wanted_idle_generation;
  double           wanted_bpm;
  gboolean         wanted_steady;

  TextCache        bpm_probe_text;
  TextCache        bpm_text;
  TextCache        caption_text;
  TextCache        confidence_text;
  TextCache        title_text;
  TextCache        detail_text;
  GtkIconPaintable *idle_icon;

  /* The tempo panel between beats is the same picture frame after frame:
   * kept as a node with what it was drawn from. */
  GskRenderNode   *tempo_node;
  TempoKey         tempo_key;
};

G_DEFINE_FINAL_TYPE (RoadieSpectrumView, roadie_spectrum_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_IS_IDLE,
  PROP_IDLE_TITLE,
  PROP_IDLE_DETAIL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void ensure_ticking   (RoadieSpectrumView *self);
static void schedule_summary (RoadieSpectrumView *self);

/* --- text ------------------------------------------------------------------ */

static void
text_cache_clear (TextCache *cache)
{
  g_clear_object (&cache->layout);
  g_clear_pointer (&cache->text, g_free);
  cache->size = 0;
  cache->width = 0;
}

/* A layout for text at size_px pixels, made again only when the size or
 * width changes: shaping the same text every frame would be most of the
 * view's CPU time. */
static PangoLayout *
text_cache_get (RoadieSpectrumView *self,
                TextCache          *cache,
                const char         *text,
                double              size_px,
                PangoWeight         weight,
                gboolean            tabular,
                double              width_px,
                int                 max_lines)
{
  int size = (int) (size_px * PANGO_SCALE);
  int width = width_px > 0 ? (int) (width_px * PANGO_SCALE) : -1;

  if (cache->layout == NULL || cache->size != size || cache->width != width)
    {
      g_autoptr(PangoFontDescription) font = NULL;
      PangoContext *context;

      text_cache_clear (cache);
      cache->layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);
      context = pango_layout_get_context (cache->layout);
      font = pango_font_description_copy (pango_context_get_font_description (context));
      pango_font_description_set_absolute_size (font, size);
      pango_font_description_set_weight (font, weight);
      pango_layout_set_font_description (cache->layout, font);
      if (tabular)
        {
          g_autoptr(PangoAttrList) attrs = pango_attr_list_new ();

          pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum=1"));
          pango_layout_set_attributes (cache->layout, attrs);
        }
      pango_layout_set_alignment (cache->layout, PANGO_ALIGN_CENTER);
      if (width > 0)
        {
          pango_layout_set_width (cache->layout, width);
          pango_layout_set_wrap (cache->layout, PANGO_WRAP_WORD_CHAR);
          pango_layout_set_ellipsize (cache->layout, PANGO_ELLIPSIZE_END);
          pango_layout_set_height (cache->layout, -max_lines);
        }
      cache->size = size;
      cache->width = width;
    }
  if (g_strcmp0 (cache->text, text) != 0)
    {
      g_free (cache->text);
      cache->text = g_strdup (text);
      pango_layout_set_text (cache->layout, text, -1);
    }
  return cache->layout;
}

static void
clear_text_caches (RoadieSpectrumView *self)
{
  g_clear_object (&self->idle_icon);
  g_clear_pointer (&self->tempo_node, gsk_render_node_unref);
  text_cache_clear (&self->bpm_probe_text);
  text_cache_clear (&self->bpm_text);
  text_cache_clear (&self->caption_text);
  text_cache_clear (&self->confidence_text);
  text_cache_clear (&self->title_text);
  text_cache_clear (&self->detail_text);
}

/* --- state ----------------------------------------------------------------- */

static const char *
confidence_words (RoadieSpectrumView *self)
{
  return self->steady && self->bpm_shown > 0 ? _("steady") : _("finding the beat");
}

static char *
make_summary (RoadieSpectrumView *self)
{
  if (self->idle_title != NULL)
    return g_strdup_printf (_("Spectrum: %s"), self->idle_title);
  if (self->bpm_shown > 0)
    return g_strdup_printf (_("Spectrum, %.0f BPM, %s"), self->bpm_shown, confidence_words (self));
  return g_strdup_printf (_("Spectrum, %s"), confidence_words (self));
}

/* Sets the accessible label if it changed and the last change is at least
 * a second old; returns FALSE when a change is still waiting. */
static gboolean
update_summary (RoadieSpectrumView *self,
                gint64              now)
{
  if (self->wanted_summary == NULL
      || self->wanted_idle_generation != self->idle_generation
      || self->wanted_bpm != self->bpm_shown
      || self->wanted_steady != self->steady)
    {
      g_free (self->wanted_summary);
      self->wanted_summary = make_summary (self);
      self->wanted_idle_generation = self->idle_generation;
      self->wanted_bpm = self->bpm_shown;
      self->wanted_steady = self->steady;
    }

  if (g_strcmp0 (self->wanted_summary, self->summary) == 0)
    return TRUE;
  /* (A step on a test's own clock may lie ahead of the monotonic clock:
   * a negative interval counts as long enough.) */
  if (self->summary != NULL && now >= self->summary_us && now - self->summary_us < SUMMARY_EVERY_US)
    return FALSE;

  g_free (self->summary);
  self->summary = g_strdup (self->wanted_summary);
  self->summary_us = now;
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, self->summary,
                                  -1);
  return TRUE;
}

static gboolean
summary_timeout (gpointer user_data)
{
  RoadieSpectrumView *self = user_data;

  self->summary_timeout_id = 0;
  schedule_summary (self);
  return G_SOURCE_REMOVE;
}

/* For changes while no tick runs: the label follows within a second. */
static void
schedule_summary (RoadieSpectrumView *self)
{
  gint64 now = g_get_monotonic_time ();

  if (self->tick_id != 0 || self->summary_timeout_id != 0)
    return;
  if (!update_summary (self, now))
    {
      gint64 wait_us = CLAMP (self->summary_us + SUMMARY_EVERY_US - now, 0, SUMMARY_EVERY_US);

      self->summary_timeout_id = g_timeout_add ((guint) (wait_us / 1000) + 1, summary_timeout, self);
    }
}

static void
set_idle_state (RoadieSpectrumView *self,
                const char         *title,
                const char         *detail,
                gboolean            is_explicit)
{
  gboolean was_idle = self->idle_title != NULL;
  gboolean title_changed = g_strcmp0 (self->idle_title, title) != 0;
  gboolean detail_changed = g_strcmp0 (self->idle_detail, detail) != 0;

  self->idle_is_explicit = title != NULL && is_explicit;
  if (!title_changed && !detail_changed)
    return;

  g_free (self->idle_title);
  self->idle_title = g_strdup (title);
  g_free (self->idle_detail);
  self->idle_detail = g_strdup (detail);
  self->idle_generation++;

  g_object_freeze_notify (G_OBJECT (self));
  if (was_idle != (title != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IS_IDLE]);
  if (title_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE_TITLE]);
  if (detail_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE_DETAIL]);
  g_object_thaw_notify (G_OBJECT (self));

  /* The tick draws the cross-fade and the bars falling; it stops itself. */
  ensure_ticking (self);
}

static void
go_waiting (RoadieSpectrumView *self)
{
  set_idle_state (self, _("Waiting for frames"),
                  _("The spectrum appears when the audio server sends its analysis"),
                  FALSE);
}

static double
approach (double  value,
          double  target,
          gint64  dt_us,
          gint64  tau_us)
{
  return target + (value - target) * exp (-(double) dt_us / (double) tau_us);
}

/* Moves what is drawn towards the targets by dt_us; returns whether
 * anything is still moving. */
static gboolean
animate (RoadieSpectrumView *self,
         gint64              now,
         gint64              dt_us)
{
  gboolean idle = self->idle_title != NULL;
  gboolean moving = FALSE;
  double dt_s = dt_us / 1e6;

  for (guint i = 0; i < self->n_bands; i++)
    {
      float target = idle || i >= self->target.n_bands ? 0.f : self->target.bands[i];
      float level = self->level[i];

      level = approach (level, target, dt_us, target > level ? ATTACK_TAU_US : RELEASE_TAU_US);
      if (fabsf (level - target) < 0.002f)
        level = target;
      self->level[i] = level;

      if (level >= self->peak[i])
        {
          self->peak[i] = level;
          self->peak_velocity[i] = 0;
          self->peak_hold_until[i] = now + PEAK_HOLD_US;
        }
      else if (idle || now >= self->peak_hold_until[i])
        {
          self->peak_velocity[i] += PEAK_GRAVITY * dt_s;
          self->peak[i] = MAX (level, self->peak[i] - self->peak_velocity[i] * dt_s);
        }
      if (level > 0 || self->peak[i] > 0)
        moving = TRUE;
      if (level != target)
        moving = TRUE;
    }

  if (self->beat_pending)
    {
      self->beat_pending = FALSE;
      self->beat_us = now;
    }
  if (self->beat_us != 0 && now - self->beat_us < PULSE_US)
    {
      double t = (double) (now - self->beat_us) / PULSE_US;

      self->pulse = (1 - t) * (1 - t);
      moving = TRUE;
    }
  else
    self->pulse = 0;

  if (idle)
    {
      self->live_amount = MAX (0.0, self->live_amount - (double) dt_us / FADE_OUT_US);
      if (self->live_amount > 0)
        moving = TRUE;
      else
        {
          self->bpm_shown = 0;
          self->confidence_shown = 0;
          self->steady = FALSE;
        }
    }
  else
    {
      double bpm = self->target.bpm;

      self->live_amount = MIN (1.0, self->live_amount + (double) dt_us / FADE_IN_US);
      if (bpm <= 0)
        self->bpm_shown = 0;
      else if (self->bpm_shown <= 0 || fabs (bpm - self->bpm_shown) >= BPM_HYSTERESIS)
        self->bpm_shown = round (bpm);
      self->confidence_shown = approach (self->confidence_shown, self->target.confidence,
                                         dt_us, CONFIDENCE_TAU_US);
      if (self->confidence_shown >= STEADY_ENTER)
        self->steady = TRUE;
      else if (self->confidence_shown < STEADY_LEAVE)
        self->steady = FALSE;
      moving = TRUE;
    }

  return moving;
}

/* One step of the animation to frame-clock time now (monotonic µs):
 * returns whether anything still moves. */
static gboolean
step (RoadieSpectrumView *self,
      gint64              now)
{
  /* The first step after a rest moves by one frame, so the frame that
   * follows a push already shows it. */
  gint64 dt_us = self->last_tick_us != 0 ? CLAMP (now - self->last_tick_us, 0, 100000) : 16667;
  gboolean moving;

  self->last_tick_us = now;
  if (self->frame_arrived)
    {
      self->last_frame_us = now;
      self->frame_arrived = FALSE;
    }
  if (self->idle_title == NULL && now - self->last_frame_us > FRAME_TIMEOUT_US)
    go_waiting (self);

  moving = animate (self, now, dt_us);
  update_summary (self, now);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return moving;
}

static void
stopped_ticking (RoadieSpectrumView *self)
{
  self->tick_id = 0;
  self->last_tick_us = 0;
  schedule_summary (self);
}

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  RoadieSpectrumView *self = ROADIE_SPECTRUM_VIEW (widget);

  if (!step (self, gdk_frame_clock_get_frame_time (clock)))
    {
      stopped_ticking (self);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
ensure_ticking (RoadieSpectrumView *self)
{
  if (self->tick_id != 0)
    return;
  if (gtk_widget_get_realized (GTK_WIDGET (self)) && !gtk_widget_get_mapped (GTK_WIDGET (self)))
    {
      self->tick_paused = TRUE;
      return;
    }
  self->tick_paused = FALSE;
  g_clear_handle_id (&self->summary_timeout_id, g_source_remove);
  self->last_tick_us = 0;
  self->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), tick_cb, NULL, NULL);
}

/* --- drawing --------------------------------------------------------------- */

static GdkRGBA
lookup_color (GtkWidget  *widget,
              const char *name,
              const char *fallback)
{
  GdkRGBA color;

  /* gtk_style_context_lookup_color () is the way to read libadwaita's
   * named colours in GTK 4.8 (deprecated only from 4.10 on). */
  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (widget), name, &color))
    gdk_rgba_parse (&color, fallback);
  return color;
}

static GdkRGBA
mix (const GdkRGBA *a,
     const GdkRGBA *b,
     double         t)
{
  return (GdkRGBA) {
    a->red + (b->red - a->red) * t,
    a->green + (b->green - a->green) * t,
    a->blue + (b->blue - a->blue) * t,
    a->alpha + (b->alpha - a->alpha) * t,
  };
}

static GdkRGBA
with_alpha (const GdkRGBA *color,
            double         alpha)
{
  return (GdkRGBA) { color->red, color->green, color->blue, color->alpha * alpha };
}

static void
append_rounded (GtkSnapshot     *snapshot,
                const GdkRGBA   *color,
                graphene_rect_t *rect,
                float            top_radius,
                float            bottom_radius)
{
  GskRoundedRect rounded;
  float top = MIN (top_radius, MIN (rect->size.width, rect->size.height) / 2);
  float bottom = MIN (bottom_radius, MIN (rect->size.width, rect->size.height) / 2);

  if (top < 0.5f && bottom < 0.5f)
    {
      gtk_snapshot_append_color (snapshot, color, rect);
      return;
    }
  gsk_rounded_rect_init (&rounded, rect,
                         &GRAPHENE_SIZE_INIT (top, top), &GRAPHENE_SIZE_INIT (top, top),
                         &GRAPHENE_SIZE_INIT (bottom, bottom), &GRAPHENE_SIZE_INIT (bottom, bottom));
  gtk_snapshot_push_rounded_clip (snapshot, &rounded);
  gtk_snapshot_append_color (snapshot, color, rect);
  gtk_snapshot_pop (snapshot);
}

static void
append_layout_at (GtkSnapshot   *snapshot,
                  PangoLayout   *layout,
                  const GdkRGBA *color,
                  float          x,
                  float          y)
{
  /* Whole pixels: crisper glyphs, and the renderer's glyph cache hits. */
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (roundf (x), roundf (y)));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}

typedef struct
{
  GdkRGBA fg;
  GdkRGBA accent;
  GdkRGBA accent_light;
  GdkRGBA peak;
  GdkRGBA hot;
} Palette;

static void
draw_bars (RoadieSpectrumView    *self,
           GtkSnapshot           *snapshot,
           const Palette         *palette,
           const graphene_rect_t *area)
{
  guint n = self->n_bands;
  guint per_bar = 1;
  float pitch, gap, group_x, marker_height, scale, radius;
  /* The scale's grid belongs to the live display: idle, it goes. */
  GdkRGBA grid = with_alpha (&palette->fg, 0.1 * self->live_amount);

  if (n == 0 || area->size.width < 1 || area->size.height < 8)
    return;

  /* Bars narrower than 3 px merge into a wall: then each bar shows the
   * loudest of a few neighbouring bands. */
  while (n > 1 && area->size.width / n < 3)
    {
      per_bar++;
      n = (self->n_bands + per_bar - 1) / per_bar;
    }

  /* Bars at most 48 px apart, centred: one band is a bar, not a wall. */
  pitch = MIN (area->size.width / n, 48.f);
  gap = pitch >= 3 ? MAX (1.f, roundf (pitch * 0.22f)) : 0;
  group_x = area->origin.x + (area->size.width - pitch * n + gap) / 2;
  marker_height = CLAMP (roundf (area->size.height * 0.012f), 2.f, 4.f);
  /* Room for a peak marker above a full bar. */
  scale = area->size.height - marker_height - 1;
  /* Rounded caps only on a few wide bars, where they show: on the
   * engine's 32 bands they cost the software renderer a fifth of the
   * view's CPU time (bench-spectrum-view) for corners nobody sees from a
   * metre away. */
  radius = n <= 16 ? MIN ((pitch - gap) * 0.3f, 4.f) : 0;

  /* Three hairlines for the scale rather than a tinted track behind
   * every bar: blending those tracks cost a fifth of the view's CPU time
   * in the software renderer. */
  if (grid.alpha > 0.002)
    for (guint line = 1; line <= 3; line++)
      gtk_snapshot_append_color (snapshot, &grid,
                                 &GRAPHENE_RECT_INIT (roundf (group_x),
                                                      roundf (area->origin.y + area->size.height - scale * line / 4.f),
                                                      roundf (pitch * n - gap), 1));

  for (guint i = 0; i < n; i++)
    {
      /* Whole pixels: crisp edges, and cheaper to fill than blended ones. */
      float x = roundf (group_x + i * pitch);
      float bar_width = MAX (1.f, roundf (group_x + (i + 1) * pitch) - x - gap);
      float level = 0, peak = 0;
      float bottom = area->origin.y + area->size.height;
      float height;

      for (guint band = i * per_bar; band < MIN ((i + 1) * per_bar, self->n_bands); band++)
        {
          level = MAX (level, CLAMP (self->level[band], 0.f, 1.f));
          peak = MAX (peak, CLAMP (self->peak[band], 0.f, 1.f));
        }
      height = roundf (level * scale);

      if (height >= 1)
        {
          /* Louder bands lighten towards the top of the scale. */
          GdkRGBA color = mix (&palette->accent, &palette->accent_light, 0.7f * level * level);
          float cap = MIN (2 * radius, height);

          /* The rounded clip only around the cap: a clip costs a mask
           * as large as itself in the software renderer. */
          if (height > cap)
            gtk_snapshot_append_color (snapshot, &color,
                                       &GRAPHENE_RECT_INIT (x, bottom - height + cap / 2, bar_width,
                                                            height - cap / 2));
          if (cap > 0)
            append_rounded (snapshot, &color,
                            &GRAPHENE_RECT_INIT (x, bottom - height, bar_width, cap),
                            radius, 0);
        }

      if (peak > 0.01f)
        {
          float y = roundf (bottom - peak * scale - marker_height - 1);
          GdkRGBA color = peak > 0.92f ? palette->hot : palette->peak;

          gtk_snapshot_append_color (snapshot, &color,
                                     &GRAPHENE_RECT_INIT (x, MAX (y, area->origin.y), bar_width, marker_height));
        }
    }
}

static guint
confidence_segments_lit (RoadieSpectrumView *self)
{
  if (self->bpm_shown <= 0)
    return 0;
  return (guint) round (CLAMP (self->confidence_shown, 0, 1) * CONFIDENCE_SEGMENTS);
}

static void
draw_tempo_contents (RoadieSpectrumView    *self,
                     GtkSnapshot           *snapshot,
                     const Palette         *palette,
                     const graphene_rect_t *area,
                     double                 opacity)
{
  PangoLayout *bpm_layout, *caption_layout, *confidence_layout;
  PangoRectangle bpm_ink, bpm_logical, caption_logical, confidence_logical;
  g_autofree char *bpm = NULL;
  double bpm_size, caption_size, probe;
  float total, y, x_center, dot_radius, caption_row_width, meter_width, segment_width, segment_gap;
  GdkRGBA bpm_color, dim, dot, meter_on, meter_off;
  guint lit;

  /* The number as large as fits: three digits across, 40 % of the height. */
  bpm_size = MIN (area->size.height * 0.42, 120);
  probe = bpm_size;
  bpm_layout = text_cache_get (self, &self->bpm_probe_text, "888", probe, PANGO_WEIGHT_HEAVY, TRUE, -1, 1);
  pango_layout_get_pixel_extents (bpm_layout, NULL, &bpm_logical);
  if (bpm_logical.width > area->size.width * 0.9)
    bpm_size = probe * area->size.width * 0.9 / bpm_logical.width;
  bpm_size = floor (bpm_size);
  caption_size = CLAMP (round (bpm_size * 0.2), 11, 18);

  bpm = self->bpm_shown > 0 ? g_strdup_printf ("%.0f", self->bpm_shown) : g_strdup ("—");
  bpm_layout = text_cache_get (self, &self->bpm_text, bpm, bpm_size, PANGO_WEIGHT_HEAVY, TRUE, -1, 1);
  pango_layout_get_pixel_extents (bpm_layout, &bpm_ink, &bpm_logical);
  caption_layout = text_cache_get (self, &self->caption_text, _("BPM"), caption_size,
                                   PANGO_WEIGHT_BOLD, FALSE, -1, 1);
  pango_layout_get_pixel_extents (caption_layout, NULL, &caption_logical);
  confidence_layout = text_cache_get (self, &self->confidence_text, confidence_words (self),
                                      caption_size, PANGO_WEIGHT_NORMAL, FALSE,
                                      area->size.width, 1);
  pango_layout_get_pixel_extents (confidence_layout, NULL, &confidence_logical);

  /* number, caption row with the beat dot, meter, words: centred. The
   * number's ink, not its line box, so digits sit close to the caption. */
  total = bpm_ink.height + caption_size * 0.8 + caption_logical.height
          + caption_size * 0.9 + 4 + caption_size * 0.5 + confidence_logical.height;
  y = area->origin.y + MAX (0, (area->size.height - total) / 2);
  x_center = area->origin.x + area->size.width / 2;

  dim = with_alpha (&palette->fg, 0.55 * opacity);
  /* The pulse: the number flashes to the accent colour on the beat, big
   * enough to catch the eye from a metre away, gone within 150 ms. (Not a
   * glow behind the panel: repainting all of it on every beat was a
   * quarter of the view's CPU time.) */
  bpm_color = mix (&palette->fg, &palette->accent, self->pulse);
  if (self->bpm_shown > 0 && !self->steady)
    bpm_color = with_alpha (&bpm_color, 0.6);
  bpm_color = with_alpha (&bpm_color, opacity);
  append_layout_at (snapshot, bpm_layout, &bpm_color,
                    roundf (x_center - bpm_logical.width / 2.f), roundf (y - bpm_ink.y));
  y += bpm_ink.height + caption_size * 0.8;

  /* Caption row: the beat dot, then "BPM". */
  dot_radius = roundf (caption_size * 0.42f);
  caption_row_width = dot_radius * 2 + caption_size * 0.5f + caption_logical.width;
  {
    float dot_x = x_center - caption_row_width / 2;
    float dot_y = y + caption_logical.height / 2.f - dot_radius;
    graphene_rect_t dot_rect = GRAPHENE_RECT_INIT (dot_x, dot_y, dot_radius * 2, dot_radius * 2);
    GdkRGBA off = with_alpha (&palette->fg, 0.18);

    dot = mix (&off, &palette->peak, self->pulse);
    dot = with_alpha (&dot, opacity);
    append_rounded (snapshot, &dot, &dot_rect, dot_radius, dot_radius);
    append_layout_at (snapshot, caption_layout, &dim,
                      dot_x + dot_radius * 2 + caption_size * 0.5f, y);
  }
  y += caption_logical.height + caption_size * 0.9f;

  /* Confidence: a five-segment meter, then the words. */
  lit = confidence_segments_lit (self);
  segment_width = roundf (caption_size * 1.1f);
  segment_gap = 3;
  meter_width = MIN (CONFIDENCE_SEGMENTS * (segment_width + segment_gap) - segment_gap, area->size.width);
  segment_width = (meter_width + segment_gap) / CONFIDENCE_SEGMENTS - segment_gap;
  meter_on = with_alpha (self->steady ? &palette->accent : &palette->peak, opacity);
  meter_off = with_alpha (&palette->fg, 0.12 * opacity);
  for (guint i = 0; i < CONFIDENCE_SEGMENTS; i++)
    append_rounded (snapshot, i < lit ? &meter_on : &meter_off,
                    &GRAPHENE_RECT_INIT (x_center - meter_width / 2 + i * (segment_width + segment_gap),
                                         y, segment_width, 4),
                    2, 2);
  y += 4 + caption_size * 0.5f;
  append_layout_at (snapshot, confidence_layout, &dim, area->origin.x, y);
}

static void
draw_tempo (RoadieSpectrumView    *self,
            GtkSnapshot           *snapshot,
            const Palette         *palette,
            const graphene_rect_t *area,
            double                 opacity)
{
  g_autoptr(GtkSnapshot) contents = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  gboolean at_rest = self->pulse == 0 && opacity >= 1;
  TempoKey key;

  if (opacity <= 0 || area->size.width < 40 || area->size.height < 40)
    return;

  memset (&key, 0, sizeof key);
  key.bpm = self->bpm_shown;
  key.steady = self->steady;
  key.lit = confidence_segments_lit (self);
  key.area = *area;
  key.colors[0] = palette->fg;
  key.colors[1] = palette->accent;
  key.colors[2] = palette->accent_light;
  key.colors[3] = palette->peak;

  if (at_rest && self->tempo_node != NULL && memcmp (&key, &self->tempo_key, sizeof key) == 0)
    {
      gtk_snapshot_append_node (snapshot, self->tempo_node);
      return;
    }

  contents = gtk_snapshot_new ();
  draw_tempo_contents (self, contents, palette, area, opacity);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&contents));
  if (node == NULL)
    return;
  gtk_snapshot_append_node (snapshot, node);
  g_clear_pointer (&self->tempo_node, gsk_render_node_unref);
  if (at_rest)
    {
      self->tempo_node = g_steal_pointer (&node);
      memcpy (&self->tempo_key, &key, sizeof key);   /* padding too, for memcmp () */
    }
}

static void
draw_idle_text (RoadieSpectrumView    *self,
                GtkSnapshot           *snapshot,
                const Palette         *palette,
                const graphene_rect_t *area,
                double                 opacity)
{
  PangoLayout *title_layout, *detail_layout = NULL;
  PangoRectangle title_logical, detail_logical = { 0 };
  double title_size;
  float total, y, icon_size;
  GdkRGBA title_color, detail_color, icon_color;

  if (opacity <= 0 || self->idle_title == NULL || area->size.width < 20)
    return;

  title_size = CLAMP (round (area->size.height * 0.1), 15, 26);
  /* A quiet symbolic note above the words, as in a status page; only
   * where there is room for it. */
  icon_size = area->size.height >= 180 ? roundf (CLAMP (area->size.height * 0.2f, 32.f, 64.f)) : 0;
  if (icon_size > 0
      && (self->idle_icon == NULL
          || gdk_paintable_get_intrinsic_width (GDK_PAINTABLE (self->idle_icon)) != (int) icon_size))
    {
      GtkIconTheme *theme = gtk_icon_theme_get_for_display (gtk_widget_get_display (GTK_WIDGET (self)));

      g_clear_object (&self->idle_icon);
      self->idle_icon = gtk_icon_theme_lookup_icon (theme, "audio-x-generic-symbolic", NULL,
                                                    (int) icon_size,
                                                    gtk_widget_get_scale_factor (GTK_WIDGET (self)),
                                                    gtk_widget_get_direction (GTK_WIDGET (self)), 0);
    }
  title_layout = text_cache_get (self, &self->title_text, self->idle_title, title_size,
                                 PANGO_WEIGHT_BOLD, FALSE, area->size.width, 1);
  pango_layout_get_pixel_extents (title_layout, NULL, &title_logical);
  total = title_logical.height;
  if (self->idle_detail != NULL && *self->idle_detail != '\0')
    {
      detail_layout = text_cache_get (self, &self->detail_text, self->idle_detail,
                                      MAX (11, round (title_size * 0.62)), PANGO_WEIGHT_NORMAL,
                                      FALSE, area->size.width, 2);
      pango_layout_get_pixel_extents (detail_layout, NULL, &detail_logical);
      total += title_size * 0.4 + detail_logical.height;
    }

  if (icon_size > 0)
    total += icon_size + title_size * 0.7;

  /* Centred, or from the top when it does not fit (tiny heights). */
  y = area->origin.y + MAX (0, (area->size.height - total) / 2);
  title_color = with_alpha (&palette->fg, 0.8 * opacity);
  detail_color = with_alpha (&palette->fg, 0.5 * opacity);
  icon_color = with_alpha (&palette->fg, 0.3 * opacity);
  if (icon_size > 0 && y + total <= area->origin.y + area->size.height)
    {
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot,
                              &GRAPHENE_POINT_INIT (roundf (area->origin.x + (area->size.width - icon_size) / 2), y));
      gtk_symbolic_paintable_snapshot_symbolic (GTK_SYMBOLIC_PAINTABLE (self->idle_icon), snapshot,
                                                icon_size, icon_size, &icon_color, 1);
      gtk_snapshot_restore (snapshot);
      y += icon_size + title_size * 0.7;
    }
  if (title_logical.height <= area->size.height)
    append_layout_at (snapshot, title_layout, &title_color, area->origin.x, y);
  y += title_logical.height + title_size * 0.4;
  if (detail_layout != NULL && y + detail_logical.height <= area->origin.y + area->size.height)
    append_layout_at (snapshot, detail_layout, &detail_color, area->origin.x, y);
}

static void
roadie_spectrum_view_snapshot (GtkWidget   *widget,
                               GtkSnapshot *snapshot)
{
  RoadieSpectrumView *self = ROADIE_SPECTRUM_VIEW (widget);
  float width = gtk_widget_get_width (widget);
  float height = gtk_widget_get_height (widget);
  float pad, panel_width, gap;
  graphene_rect_t bars, panel, whole;
  Palette palette;
  double live = self->live_amount;

  if (width < 1 || height < 1)
    return;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &palette.fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  palette.accent = lookup_color (widget, "accent_bg_color", "#3584e4");
  palette.accent_light = lookup_color (widget, "blue_1", "#99c1f1");
  palette.peak = lookup_color (widget, "orange_3", "#ff7800");
  palette.hot = lookup_color (widget, "red_2", "#ed333b");

  pad = CLAMP (roundf (MIN (width, height) * 0.07f), 6.f, 20.f);
  gap = pad;
  panel_width = width >= 480 ? CLAMP (width * 0.28f, 150.f, 280.f) : CLAMP (width * 0.34f, 60.f, 160.f);
  panel_width = MIN (panel_width, MAX (0.f, width - 2 * pad - gap));
  bars = GRAPHENE_RECT_INIT (pad, pad,
                             MAX (0.f, width - 2 * pad - gap - panel_width),
                             MAX (0.f, height - 2 * pad));
  panel = GRAPHENE_RECT_INIT (width - pad - panel_width, pad, panel_width, MAX (0.f, height - 2 * pad));
  whole = GRAPHENE_RECT_INIT (pad, pad, MAX (0.f, width - 2 * pad), MAX (0.f, height - 2 * pad));

  /* Fading out, the bars dim with the rest of the live display. */
  gtk_snapshot_push_opacity (snapshot, 0.35 + 0.65 * live);
  draw_bars (self, snapshot, &palette, &bars);
  gtk_snapshot_pop (snapshot);
  draw_tempo (self, snapshot, &palette, &panel, live);
  draw_idle_text (self, snapshot, &palette, &whole, 1 - live);
}

static void
roadie_spectrum_view_measure (GtkWidget      *widget,
                              GtkOrientation  orientation,
                              int             for_size,
                              int            *minimum,
                              int            *natural,
                              int            *minimum_baseline,
                              int            *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = MIN_WIDTH;
      *natural = NATURAL_WIDTH;
    }
  else
    {
      *minimum = MIN_HEIGHT;
      *natural = NATURAL_HEIGHT;
    }
}

static void
roadie_spectrum_view_system_setting_changed (GtkWidget         *widget,
                                             GtkSystemSetting   setting)
{
  RoadieSpectrumView *self = ROADIE_SPECTRUM_VIEW (widget);

  /* Fonts or their rendering changed: shape the text again. */
  clear_text_caches (self);
  GTK_WIDGET_CLASS (roadie_spectrum_view_parent_class)->system_setting_changed (widget, setting);
}

static void
roadie_spectrum_view_unroot (GtkWidget *widget)
{
  clear_text_caches (ROADIE_SPECTRUM_VIEW (widget));
  GTK_WIDGET_CLASS (roadie_spectrum_view_parent_class)->unroot (widget);
}

static void
roadie_spectrum_view_map (GtkWidget *widget)
{
  RoadieSpectrumView *self = ROADIE_SPECTRUM_VIEW (widget);

  GTK_WIDGET_CLASS (roadie_spectrum_view_parent_class)->map (widget);

  /* Catch up with what came (or stopped coming) while hidden. */
  if (self->tick_paused)
    ensure_ticking (self);
}

static void
roadie_spectrum_view_unmap (GtkWidget *widget)
{
  RoadieSpectrumView *self = ROADIE_SPECTRUM_VIEW (widget);

  if (self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (widget, self->tick_id);
      stopped_ticking (self);
      self->tick_paused = TRUE;
    }

  GTK_WIDGET_CLASS (roadie_spectrum_view_parent_class)->unmap (widget);
}

/* --- GObject --------------------------------------------------------------- */

static void
roadie_spectrum_view_dispose (GObject *object)
{
  RoadieSpectrumView *self = ROADIE_SPECTRUM_VIEW (object);

  if (self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
      self->tick_id = 0;
    }
  g_clear_handle_id (&self->summary_timeout_id, g_source_remove);
  clear_text_caches (self);

  G_OBJECT_CLASS (roadie_spectrum_view_parent_class)->dispose (object);
}

static void
roadie_spectrum_view_finalize (GObject *object)
{
  RoadieSpectrumView *self = ROADIE_SPECTRUM_VIEW (object);

  g_free (self->idle_title);
  g_free (self->idle_detail);
  g_free (self->summary);
  g_free (self->wanted_summary);

  G_OBJECT_CLASS (roadie_spectrum_view_parent_class)->finalize (object);
}

static void
roadie_spectrum_view_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  RoadieSpectrumView *self = ROADIE_SPECTRUM_VIEW (object);

  switch (prop_id)
    {
    case PROP_IS_IDLE:
      g_value_set_boolean (value, roadie_spectrum_view_get_is_idle (self));
      break;

    case PROP_IDLE_TITLE:
      g_value_set_string (value, self->idle_title);
      break;

    case PROP_IDLE_DETAIL:
      g_value_set_string (value, self->idle_detail);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
roadie_spectrum_view_class_init (RoadieSpectrumViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = roadie_spectrum_view_dispose;
  object_class->finalize = roadie_spectrum_view_finalize;
  object_class->get_property = roadie_spectrum_view_get_property;

  widget_class->snapshot = roadie_spectrum_view_snapshot;
  widget_class->measure = roadie_spectrum_view_measure;
  widget_class->system_setting_changed = roadie_spectrum_view_system_setting_changed;
  widget_class->unroot = roadie_spectrum_view_unroot;
  widget_class->map = roadie_spectrum_view_map;
  widget_class->unmap = roadie_spectrum_view_unmap;

  properties[PROP_IS_IDLE] =
    g_param_spec_boolean ("is-idle", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_IDLE_TITLE] =
    g_param_spec_string ("idle-title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_IDLE_DETAIL] =
    g_param_spec_string ("idle-detail", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "spectrumview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
roadie_spectrum_view_init (RoadieSpectrumView *self)
{
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);

  /* A fresh view has seen nothing: idle, at rest, no tick. */
  self->idle_title = g_strdup (_("Waiting for frames"));
  self->idle_detail = g_strdup (_("The spectrum appears when the audio server sends its analysis"));
  self->summary = make_summary (self);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, self->summary,
                                  -1);
}

/* --- public API ------------------------------------------------------------ */

GtkWidget *
roadie_spectrum_view_new (void)
{
  return g_object_new (ROADIE_TYPE_SPECTRUM_VIEW, NULL);
}

void
roadie_spectrum_view_push_frame (RoadieSpectrumView    *self,
                                 const RoadieLiveFrame *frame)
{
  guint n;

  g_return_if_fail (ROADIE_IS_SPECTRUM_VIEW (self));
  g_return_if_fail (frame != NULL);

  self->target = *frame;
  /* The parser caps the count already; this keeps the view safe on its own. */
  n = self->target.n_bands = MIN (frame->n_bands, ROADIE_LIVE_FRAME_MAX_BANDS);
  self->frame_arrived = TRUE;

  if (n > 0 && n != self->n_bands)
    {
      /* A new band layout: the old heights mean nothing in it. */
      for (guint i = 0; i < ROADIE_LIVE_FRAME_MAX_BANDS; i++)
        {
          self->level[i] = 0;
          self->peak[i] = 0;
          self->peak_velocity[i] = 0;
          self->peak_hold_until[i] = 0;
        }
      self->n_bands = n;
    }

  if (!frame->has_audio)
    {
      /* The engine is there but hears nothing. An explicit title (set by
       * whoever knows more) stays. */
      if (!self->idle_is_explicit)
        set_idle_state (self, _("No audio"), _("Nothing is playing on the default output"), FALSE);
      return;
    }

  if (frame->beat)
    self->beat_pending = TRUE;
  set_idle_state (self, NULL, NULL, FALSE);
  ensure_ticking (self);
}

void
roadie_spectrum_view_set_idle (RoadieSpectrumView *self,
                               const char         *title,
                               const char         *detail)
{
  g_return_if_fail (ROADIE_IS_SPECTRUM_VIEW (self));

  if (title == NULL)
    {
      /* Already live: the frame time-out keeps running (callers may say
       * "live" on every refresh; that is no frame). */
      if (self->idle_title == NULL)
        return;
      /* Live again: frames have a second to arrive before "Waiting". */
      self->frame_arrived = TRUE;
      set_idle_state (self, NULL, NULL, FALSE);
      ensure_ticking (self);
      return;
    }
  set_idle_state (self, title, detail, TRUE);
}

gboolean
roadie_spectrum_view_get_is_idle (RoadieSpectrumView *self)
{
  g_return_val_if_fail (ROADIE_IS_SPECTRUM_VIEW (self), TRUE);

  return self->idle_title != NULL;
}

const char *
roadie_spectrum_view_get_idle_title (RoadieSpectrumView *self)
{
  g_return_val_if_fail (ROADIE_IS_SPECTRUM_VIEW (self), NULL);

  return self->idle_title;
}

const char *
roadie_spectrum_view_get_idle_detail (RoadieSpectrumView *self)
{
  g_return_val_if_fail (ROADIE_IS_SPECTRUM_VIEW (self), NULL);

  return self->idle_detail;
}

double
roadie_spectrum_view_get_displayed_bpm (RoadieSpectrumView *self)
{
  g_return_val_if_fail (ROADIE_IS_SPECTRUM_VIEW (self), 0);

  return self->live_amount > 0 ? self->bpm_shown : 0;
}

double
roadie_spectrum_view_get_beat_pulse (RoadieSpectrumView *self)
{
  g_return_val_if_fail (ROADIE_IS_SPECTRUM_VIEW (self), 0);

  return self->pulse;
}

double
roadie_spectrum_view_get_band_level (RoadieSpectrumView *self,
                                     guint               index)
{
  g_return_val_if_fail (ROADIE_IS_SPECTRUM_VIEW (self), 0);

  return index < self->n_bands ? self->level[index] : 0;
}

double
roadie_spectrum_view_get_peak_level (RoadieSpectrumView *self,
                                     guint               index)
{
  g_return_val_if_fail (ROADIE_IS_SPECTRUM_VIEW (self), 0);

  return index < self->n_bands ? self->peak[index] : 0;
}

guint
roadie_spectrum_view_get_n_bands (RoadieSpectrumView *self)
{
  g_return_val_if_fail (ROADIE_IS_SPECTRUM_VIEW (self), 0);

  return self->n_bands;
}

void
roadie_spectrum_view_advance (RoadieSpectrumView *self,
                              gint64              now_us)
{
  g_return_if_fail (ROADIE_IS_SPECTRUM_VIEW (self));

  if (!step (self, now_us) && self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
      stopped_ticking (self);
    }
}

gboolean
roadie_spectrum_view_is_animating (RoadieSpectrumView *self)
{
  g_return_val_if_fail (ROADIE_IS_SPECTRUM_VIEW (self), FALSE);

  return self->tick_id != 0;
}

const char *
roadie_spectrum_view_get_summary (RoadieSpectrumView *self)
{
  g_return_val_if_fail (ROADIE_IS_SPECTRUM_VIEW (self), NULL);

  return self->summary;
}
