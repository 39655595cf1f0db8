/* roadie-active-dj.c: which remote DJ a VJ server shows.
 *
 * The connected DJs are kept in the order they connected (an id may be
 * there twice while a DJ's old connection is still closing), so "the most
 * recent" and "the one before it" are the end of the list.
 */
#include "config.h"

#include "roadie-active-dj.h"

struct _RoadieActiveDj
{
  GPtrArray *connected;   /* char *dj_id, oldest first */
  char      *chosen;      /* by an admin, or NULL */
  char      *active;      /* cached result, for change detection */
};

RoadieActiveDj *
roadie_active_dj_new (void)
{
  RoadieActiveDj *self = g_new0 (RoadieActiveDj, 1);

  self->connected = g_ptr_array_new_with_free_func (g_free);

  return self;
}

void
roadie_active_dj_free (RoadieActiveDj *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->connected);
  g_free (self->chosen);
  g_free (self->active);
  g_free (self);
}

static gboolean
is_connected (RoadieActiveDj *self,
              const char     *dj_id)
{
  for (guint i = 0; i < self->connected->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->connected, i), dj_id) == 0)
      return TRUE;
  return FALSE;
}

/* Recomputes the active DJ; TRUE when it changed. */
static gboolean
update (RoadieActiveDj *self)
{
  const char *active = NULL;

  if (self->chosen != NULL && is_connected (self, self->chosen))
    active = self->chosen;
  else if (self->connected->len > 0)
    active = g_ptr_array_index (self->connected, self->connected->len - 1);

  if (g_strcmp0 (active, self->active) == 0)
    return FALSE;
  g_free (self->active);
  self->active = g_strdup (active);
  return TRUE;
}

gboolean
roadie_active_dj_connected (RoadieActiveDj *self,
                            const char     *dj_id)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (dj_id != NULL, FALSE);

  g_ptr_array_add (self->connected, g_strdup (dj_id));
  return update (self);
}

gboolean
roadie_active_dj_disconnected (RoadieActiveDj *self,
                               const char     *dj_id)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (dj_id != NULL, FALSE);

  /* The oldest entry of that id: when a DJ reconnects before its old
   * connection is gone, the old one is the one that closes, and the new
   * one keeps its place as the most recent. */
  for (guint i = 0; i < self->connected->len; i++)
    {
      if (g_strcmp0 (g_ptr_array_index (self->connected, i), dj_id) == 0)
        {
          g_ptr_array_remove_index (self->connected, i);
          break;
        }
    }
  return update (self);
}

gboolean
roadie_active_dj_choose (RoadieActiveDj *self,
                         const char     *dj_id)
{
  g_return_val_if_fail (self != NULL, FALSE);

  g_free (self->chosen);
  self->chosen = g_strdup (dj_id);
  return update (self);
}

const char *
roadie_active_dj_get (RoadieActiveDj *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->active;
}
