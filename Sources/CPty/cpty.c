#define _GNU_SOURCE
#include <stddef.h>
#include <pty.h>
#include "cpty.h"

int gtr_openpty(int *master, int *slave, unsigned short rows, unsigned short cols) {
    struct winsize ws = {rows, cols, 0, 0};
    return openpty(master, slave, NULL, NULL, &ws);
}

int gtr_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}
