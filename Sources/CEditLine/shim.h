#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <editline/readline.h>

// Setters for libedit's readline-compat globals: Swift 6 treats mutable C globals as
// concurrency-unsafe, so all access goes through these functions.
typedef char *(*gtr_completion_generator)(const char *, int);
static inline void gtr_rl_set_completion(gtr_completion_generator fn) {
    rl_completion_entry_function = (rl_compentry_func_t *)fn;
}
static inline void gtr_rl_set_append_char(int c) { rl_completion_append_character = c; }
static inline void gtr_rl_set_name(const char *name) { rl_readline_name = name; }
static inline const char *gtr_rl_line_buffer(void) { return rl_line_buffer; }
static inline int gtr_rl_point(void) { return rl_point; }
static inline void gtr_rl_set_word_break(const char *chars) { rl_basic_word_break_characters = (char *)chars; }

