#ifndef GTR_CPTY_H
#define GTR_CPTY_H
/// Opens a pseudo-terminal pair of the given size; returns 0 on success. Used by the REPL tests.
int gtr_openpty(int *master, int *slave, unsigned short rows, unsigned short cols);
#endif
