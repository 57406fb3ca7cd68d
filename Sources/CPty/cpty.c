#define _GNU_SOURCE
#include <stddef.h>
#include <pty.h>
#include "cpty.h"

int gtr_openpty(int *master, int *slave, unsigned short rows, unsigned short cols) {
    struct winsize ws = {rows, cols, 0, 0};
    return openpty(master, slave, NULL, NULL, &ws);
}
