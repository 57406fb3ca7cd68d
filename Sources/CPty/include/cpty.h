#ifndef GTR_CPTY_H
#define GTR_CPTY_H
/// Opens a pseudo-terminal pair of the given size; returns 0 on success. Used by the REPL tests.
int gtr_openpty(int *master, int *slave, unsigned short rows, unsigned short cols);
#include <spawn.h>
/// posix_spawn_file_actions_addchdir_np (glibc ≥ 2.29), which Swift cannot see without _GNU_SOURCE.
int gtr_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
#endif
