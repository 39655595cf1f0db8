#include "config.h"

#include "roadie-test-util.h"

int
main (int argc, char *argv[])
{
  roadie_test_init_environment ();
  g_test_init (&argc, &argv, NULL);
  return g_test_run ();
}
