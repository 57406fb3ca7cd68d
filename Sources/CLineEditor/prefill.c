#include "CLineEditor.h"
#include <histedit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A line editor pre-filled with text (`thought edit`, the human corrector). libedit's readline layer resets any
// buffer inserted before readline() runs, so this uses a separate native EditLine whose character source first
// replays the initial text, as if typed, then reads the keyboard.
#include <unistd.h>
#include <wchar.h>

static const char *gtr_prefill_text = 0;
static size_t gtr_prefill_pos = 0;
static const char *gtr_prefill_prompt = 0;

static char *gtr_prefill_prompt_fn(EditLine *e) { (void)e; return (char *)gtr_prefill_prompt; }

// Decodes one UTF-8 character starting at s[*pos] (invalid bytes pass through as themselves).
static wchar_t gtr_utf8_next(const unsigned char *s, size_t *pos) {
    unsigned c = s[(*pos)++];
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    unsigned v = extra == 3 ? (c & 7) : extra == 2 ? (c & 15) : extra == 1 ? (c & 31) : c;
    for (int i = 0; i < extra && (s[*pos] & 0xC0) == 0x80; i++) v = (v << 6) | (s[(*pos)++] & 63);
    return (wchar_t)v;
}

static int gtr_prefill_getc(EditLine *e, wchar_t *c) {
    if (gtr_prefill_text && gtr_prefill_text[gtr_prefill_pos]) {
        *c = gtr_utf8_next((const unsigned char *)gtr_prefill_text, &gtr_prefill_pos);
        return 1;
    }
    el_set(e, EL_GETCFN, EL_BUILTIN_GETCFN);
    unsigned char b[4];
    ssize_t r = read(0, b, 1);
    if (r <= 0) return (int)r;
    int extra = b[0] >= 0xF0 ? 3 : b[0] >= 0xE0 ? 2 : b[0] >= 0xC0 ? 1 : 0;
    for (int i = 1; i <= extra; i++) if (read(0, b + i, 1) != 1) { extra = i - 1; break; }
    size_t p = 0;
    unsigned char tmp[5] = {0};
    for (int i = 0; i <= extra; i++) tmp[i] = b[i];
    *c = gtr_utf8_next(tmp, &p);
    return 1;
}

// Ctrl-D cancels the edit wherever the cursor is (emacs mode would delete a character or list completions on a
// non-empty line, and the buffer is never empty here): el_gets then returns NULL, as at end of input.
static unsigned char gtr_prefill_cancel(EditLine *e, int ch) { (void)e; (void)ch; return CC_EOF; }

/// Reads one line with `initial` already in the buffer. Returns a malloc'd string without the newline, or NULL
/// at end of input. Editing keys are emacs-style, as in the REPL.
char *gtr_edit_prefilled(const char *prompt, const char *initial) {
    EditLine *e = el_init("gtr", stdin, stdout, stderr);
    if (!e) return 0;
    gtr_prefill_prompt = prompt;   // valid for the duration of the call
    gtr_prefill_text = initial;
    gtr_prefill_pos = 0;
    el_set(e, EL_PROMPT, gtr_prefill_prompt_fn);
    el_set(e, EL_EDITOR, "emacs");
    el_set(e, EL_GETCFN, gtr_prefill_getc);
    el_set(e, EL_ADDFN, "gtr-cancel", "cancel the edit", gtr_prefill_cancel);
    el_set(e, EL_BIND, "^D", "gtr-cancel", NULL);
    int n = 0;
    const char *s = el_gets(e, &n);
    char *out = 0;
    if (s) {
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
        out = (char *)malloc((size_t)n + 1);
        if (out) { memcpy(out, s, (size_t)n); out[n] = 0; }
    }
    gtr_prefill_text = 0;
    el_end(e);
    return out;
}
