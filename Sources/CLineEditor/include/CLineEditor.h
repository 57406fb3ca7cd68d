#ifndef GTR_CLINEEDITOR_H
#define GTR_CLINEEDITOR_H

/// Reads one line with `initial` already in the editing buffer, using a native libedit EditLine whose character
/// source replays `initial` as typed input (libedit's readline layer resets any buffer inserted before
/// readline() runs). Returns a malloc'd string without the newline, or NULL at end of input.
char *gtr_edit_prefilled(const char *prompt, const char *initial);

#endif
