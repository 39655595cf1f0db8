/* roadie-active-dj.h: which remote DJ a VJ server shows.
 *
 * An authenticated admin may choose a DJ; while that DJ is connected it is
 * the active one. Otherwise the most recent DJ to connect is active, and
 * when it leaves, the one before it. Pure bookkeeping, tested without a
 * network.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RoadieActiveDj RoadieActiveDj;

RoadieActiveDj *roadie_active_dj_new          (void);
void            roadie_active_dj_free         (RoadieActiveDj *self);
/* Each returns TRUE when the active DJ changed. */
gboolean        roadie_active_dj_connected    (RoadieActiveDj *self,
                                               const char     *dj_id);
gboolean        roadie_active_dj_disconnected (RoadieActiveDj *self,
                                               const char     *dj_id);
/* An admin's choice; NULL goes back to "most recent". */
gboolean        roadie_active_dj_choose       (RoadieActiveDj *self,
                                               const char     *dj_id);
/* The active DJ's id, or NULL when no DJ is connected. */
const char     *roadie_active_dj_get          (RoadieActiveDj *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RoadieActiveDj, roadie_active_dj_free)

G_END_DECLS
