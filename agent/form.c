/* form.c - event fields from long options and from terminal prompts (see
 * form.h). Called by agent/cmd_event.c. Everything about a field (its
 * option, type, rule, help line) comes from tb_kind_fields().
 */
#include "agent/form.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "agent/input.h"
#include "agent/labels.h"
#include "common/date.h"
#include "common/i18n.h"
#include "common/err.h"
#include "common/mem.h"

#define MAX_OPTIONS (TB_KIND_COUNT * TB_FIELDS_MAX)
#define MAX_ASKS 200 /* prompts in one session, so a loop always ends */

/* Distinct field option spellings over every kind, in table order. */
static const char *option_names[MAX_OPTIONS];
static size_t noptions;

static void collect_options(void)
{
	const struct tb_field *tab;
	size_t n, i, j;
	int k;

	if (noptions)
		return;
	for (k = 0; k < TB_KIND_COUNT; k++) {
		tab = tb_kind_fields(k, &n);
		for (i = 0; i < n; i++) {
			for (j = 0; j < noptions; j++)
				if (strcmp(option_names[j], tab[i].option) == 0)
					break;
			if (j == noptions && noptions < MAX_OPTIONS)
				option_names[noptions++] = tab[i].option;
		}
	}
}

int tb_form_add_options(struct option *opts, size_t cap, size_t *n)
{
	size_t i;

	collect_options();
	if (*n + noptions > cap)
		return TB_ETOOBIG;
	for (i = 0; i < noptions; i++) {
		opts[*n].name = option_names[i];
		opts[*n].has_arg = required_argument;
		opts[*n].flag = NULL;
		opts[*n].val = TB_FORM_OPT_BASE + (int)i;
		(*n)++;
	}
	return TB_OK;
}

int tb_form_take(struct tb_form *f, int val, const char *value)
{
	size_t k;

	collect_options();
	if (val < TB_FORM_OPT_BASE || val >= TB_FORM_OPT_BASE + (int)noptions)
		return 0;
	k = (size_t)(val - TB_FORM_OPT_BASE);
	if (f->n >= TB_FORM_MAX)
		return TB_ETOOBIG;
	f->e[f->n].option = option_names[k];
	f->e[f->n].value = value;
	f->n++;
	return 1;
}

int tb_form_set_date(struct tb_event *e, const char *text, char *msg,
		     size_t msglen)
{
	char why[TB_WHY_LEN];
	int32_t d;

	if (tb_input_date(text, &d, why, sizeof(why)) != TB_OK) {
		snprintf(msg, msglen, "%s: %s", _("date"), why);
		return TB_EINVAL;
	}
	e->date = d;
	return TB_OK;
}

/* The kind's options as " --a --b ..." for a message. */
static void list_options(enum tb_kind kind, char *buf, size_t len)
{
	const struct tb_field *tab;
	size_t n, i, used = 0;
	int w;

	tab = tb_kind_fields(kind, &n);
	buf[0] = '\0';
	for (i = 0; i < n && used < len; i++) {
		w = snprintf(buf + used, len - used, " --%s", tab[i].option);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int tb_form_apply(const struct tb_form *f, struct tb_event *e, char *msg,
		  size_t msglen)
{
	char opts[1024];
	size_t i;
	int rc = TB_OK;

	if (f->date)
		rc = tb_form_set_date(e, f->date, msg, msglen);
	for (i = 0; rc == TB_OK && i < f->n; i++) {
		if (tb_field_index(e->kind, f->e[i].option) < 0) {
			list_options(e->kind, opts, sizeof(opts));
			snprintf(msg, msglen,
				 "--%s is not a field of %s (its fields: "
				 "--date%s)", f->e[i].option,
				 tb_kind_name(e->kind), opts);
			return TB_EUSAGE;
		}
		rc = tb_input_set(e, f->e[i].option, f->e[i].value,
				  tb_input_locale_numconv(), msg, msglen);
	}
	return rc;
}

/* ---- help --------------------------------------------------------------- */

static const char *placeholder(const struct tb_field *f)
{
	switch (f->type) {
	case TB_FT_COUNT: return "N";
	case TB_FT_TEXT: return "TEXT";
	case TB_FT_BOOL: return "yes|no";
	case TB_FT_CHOICE: return "CHOICE";
	case TB_FT_URL: return "URL";
	}
	return "VALUE";
}

void tb_form_help(FILE *out, enum tb_kind kind)
{
	const struct tb_field *tab;
	char left[64];
	size_t n, i;

	tab = tb_kind_fields(kind, &n);
	fprintf(out, "Fields of %s (each is a long option):\n",
		tb_kind_name(kind));
	fprintf(out, "  %-34s %s\n", _("--date DATE"),
		kind == TB_KIND_SNAPSHOT
			? _("The day the figures are as of, 20/11/2025 or "
			    "2025-11-20 (default: today)")
			: _("The day it happened, 20/11/2025 or 2025-11-20 "
			    "(default: today)"));
	for (i = 0; i < n; i++) {
		snprintf(left, sizeof(left), "--%s %s", tab[i].option,
			 placeholder(&tab[i]));
		fprintf(out, "  %-34s %s%s\n", left, tab[i].help,
			tab[i].required ? " [required]" : "");
		if (tab[i].type == TB_FT_CHOICE)
			fprintf(out, "  %-34s   one of: %s\n", "",
				tab[i].choices);
	}
}

/* ---- prompts ------------------------------------------------------------ */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* The terminal's width in columns, 80 if out is not a terminal. */
static size_t term_width(FILE *out)
{
	struct winsize ws;

	if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* Prints text wrapped at word boundaries to the terminal's width (UTF-8
 * characters counted, not bytes); later lines indented by two. */
static void wrapped(FILE *out, const char *text)
{
	size_t width = term_width(out) - 1, col = 0, wlen, wcols, i;
	const char *p = text, *w;

	while (*p) {
		if (*p == '\n') {
			fputc('\n', out);
			col = 0;
			p++;
			continue;
		}
		for (w = p, wlen = 0, wcols = 0; w[wlen] && w[wlen] != ' ' &&
						 w[wlen] != '\n';
		     wlen++)
			if (((unsigned char)w[wlen] & 0xC0) != 0x80)
				wcols++;
		if (col > 2 && col + wcols > width) {
			fputs("\n  ", out);
			col = 2;
		}
		fwrite(w, 1, wlen, out);
		col += wcols;
		p = w + wlen;
		for (i = 0; p[i] == ' '; i++)
			;
		if (i && col + 1 <= width) {
			fputc(' ', out);
			col++;
		}
		p += i;
	}
}

static void promptf(FILE *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void promptf(FILE *out, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	wrapped(out, text);
	fflush(out);
}

/* One answer line into *line (getline buffer), without the line end.
 * 1 for an answer, 0 at end of input or Ctrl-C. */
static int read_answer(FILE *in, char **line, size_t *cap)
{
	ssize_t len;

	if (interrupted)
		return 0;
	len = getline(line, cap, in);
	if (len < 0)
		return 0;
	while (len > 0 && ((*line)[len - 1] == '\n' || (*line)[len - 1] == '\r'))
		(*line)[--len] = '\0';
	return 1;
}

/* Why the answers stopped, for the caller's one line. */
static int stopped(FILE *out, char *msg, size_t msglen)
{
	fputc('\n', out);
	snprintf(msg, msglen, "%s",
		 interrupted ? _("stopped with Ctrl-C")
			     : _("the input ended (Ctrl-D) before every "
				 "field was answered"));
	return TB_EINVAL;
}

/* Asks for the date until a good one is given. */
static int ask_date(struct tb_event *e, FILE *in, FILE *out, char **line,
		    size_t *cap, int *asks, char *msg, size_t msglen)
{
	char def[TB_DATE_LEN];

	tb_input_date_text(e->date, def);
	while ((*asks)++ < MAX_ASKS) {
		promptf(out, _("%s - %s, day/month/year [default: %s]: "),
			_("date"),
			e->kind == TB_KIND_SNAPSHOT
				? _("The day the figures are as of")
				: _("The day it happened"),
			def);
		if (!read_answer(in, line, cap))
			break;
		if (!(*line)[0] ||
		    tb_form_set_date(e, *line, msg, msglen) == TB_OK)
			return TB_OK;
		tb_label_msg(msg, msglen);
		fprintf(out, "  %s\n", msg);
	}
	return stopped(out, msg, msglen);
}

/* Asks for field idx until its answer passes the field's rule. */
static int ask_field(struct tb_event *e, int idx, FILE *in, FILE *out,
		     char **line, size_t *cap, int *asks, char *msg,
		     size_t msglen)
{
	const struct tb_field *f;
	char cur[TB_TEXT_MAX + 1];
	size_t n;
	int rc;

	f = &tb_kind_fields(e->kind, &n)[idx];
	while ((*asks)++ < MAX_ASKS) {
		tb_event_get(e, idx, cur, sizeof(cur));
		if (n > 8)
			fprintf(out, "[%d/%zu] ", idx + 1, n);
		if (cur[0])
			promptf(out, _("%s - %s [default: %s]: "),
				tb_field_label(f), _(f->help), cur);
		else if (f->required)
			promptf(out, _("%s - %s [required]: "),
				tb_field_label(f), _(f->help));
		else
			promptf(out, _("%s - %s [default: empty]: "),
				tb_field_label(f), _(f->help));
		if (!read_answer(in, line, cap))
			break;
		if (!(*line)[0] && cur[0])
			return TB_OK; /* keep the default */
		if (!(*line)[0] && f->required) {
			fprintf(out, _("  %s: a value is required\n"),
				tb_field_label(f));
			continue;
		}
		rc = tb_input_set(e, f->name, *line, tb_input_locale_numconv(),
				  msg, msglen);
		if (rc == TB_OK)
			return TB_OK;
		if (rc != TB_EINVAL)
			return rc;
		tb_label_msg(msg, msglen);
		fprintf(out, "  %s\n", msg);
	}
	return stopped(out, msg, msglen);
}

/* The field a validation message is about ("female: must ..."): its
 * index, -2 for the date, -1 if it names no field of the kind. */
static int blamed_field(enum tb_kind kind, const char *msg)
{
	char name[64];
	const char *colon = strchr(msg, ':');
	size_t len;

	if (!colon || (len = (size_t)(colon - msg)) >= sizeof(name))
		return -1;
	memcpy(name, msg, len);
	name[len] = '\0';
	if (strcmp(name, "date") == 0)
		return -2;
	return tb_field_index(kind, name);
}

/* After field `upto` is answered: a rule that ties it to a field asked
 * before (female > participants) sends the clerk back at once, not after
 * every question. A rule about a later field waits for its turn. */
static int check_so_far(struct tb_event *e, int upto, FILE *in, FILE *out,
			char **line, size_t *cap, int *asks, char *msg,
			size_t msglen)
{
	char why[TB_MSG_LEN];
	int rc = TB_OK, idx;

	while (rc == TB_OK && *asks < MAX_ASKS &&
	       tb_event_validate(e, 0, why, sizeof(why)) == TB_EINVAL) {
		idx = blamed_field(e->kind, why);
		if (idx == -1 || idx > upto)
			break;
		tb_label_msg(why, sizeof(why));
		fprintf(out, "  %s\n", why);
		rc = idx == -2 ? ask_date(e, in, out, line, cap, asks, msg,
					  msglen)
			       : ask_field(e, idx, in, out, line, cap, asks,
					   msg, msglen);
	}
	return rc;
}

/* What will be recorded, then a yes/no. */
static int confirm(const struct tb_event *e, FILE *in, FILE *out,
		   char **line, size_t *cap, int *asks, char *msg,
		   size_t msglen)
{
	const struct tb_field *tab = NULL;
	char v[TB_TEXT_MAX + 1], d[TB_DATE_LEN];
	size_t n, i;

	tab = tb_kind_fields(e->kind, &n);
	fprintf(out, _("\nTo be recorded: %s\n"), tb_kind_label(e->kind));
	fprintf(out, "  %-28s %s\n", _("date"), tb_input_date_text(e->date, d));
	for (i = 0; i < n; i++)
		if (tb_event_get(e, (int)i, v, sizeof(v))[0])
			fprintf(out, "  %-28s %s\n", tb_field_label(&tab[i]),
				v);
	while ((*asks)++ < MAX_ASKS) {
		promptf(out, _("Record this? (yes/no) [yes]: "));
		if (!read_answer(in, line, cap))
			return stopped(out, msg, msglen);
		if (!(*line)[0] || tb_input_same(*line, "yes") ||
		    tb_input_same(*line, "y") || tb_input_same(*line, "có") ||
		    tb_input_same(*line, "co") || tb_input_same(*line, _("yes")))
			return TB_OK;
		if (tb_input_same(*line, "no") || tb_input_same(*line, "n") ||
		    tb_input_same(*line, "không") ||
		    tb_input_same(*line, "khong") ||
		    tb_input_same(*line, _("no"))) {
			snprintf(msg, msglen, _("you answered no"));
			return TB_EINVAL;
		}
		fprintf(out, _("  answer yes or no\n"));
	}
	return stopped(out, msg, msglen);
}

int tb_form_prompt(struct tb_event *e, FILE *in, FILE *out,
		   int32_t default_date, char *msg, size_t msglen)
{
	struct sigaction sa, old;
	char *line = NULL;
	size_t cap = 0, n, i;
	int rc, asks = 0, idx;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt; /* no SA_RESTART: getline returns */
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &old);
	tb_kind_fields(e->kind, &n);
	e->date = default_date;
	promptf(out, _("New record: %s. Press Enter to take the [default]; "
		       "Ctrl-D or Ctrl-C stops without recording.\n"),
		tb_kind_label(e->kind));
	rc = ask_date(e, in, out, &line, &cap, &asks, msg, msglen);
	for (i = 0; rc == TB_OK && i < n; i++) {
		rc = ask_field(e, (int)i, in, out, &line, &cap, &asks, msg,
			       msglen);
		if (rc == TB_OK)
			rc = check_so_far(e, (int)i, in, out, &line, &cap,
					  &asks, msg, msglen);
	}
	/* Rules that tie fields together: back to the field they name. */
	while (rc == TB_OK &&
	       (rc = tb_event_validate(e, 0, msg, msglen)) == TB_EINVAL) {
		idx = blamed_field(e->kind, msg);
		if (idx == -1 || asks >= MAX_ASKS)
			break;
		tb_label_msg(msg, msglen);
		fprintf(out, "  %s\n", msg);
		if (idx == -2)
			rc = ask_date(e, in, out, &line, &cap, &asks, msg,
				      msglen);
		else
			rc = ask_field(e, idx, in, out, &line, &cap, &asks, msg,
				       msglen);
	}
	if (rc == TB_OK)
		rc = confirm(e, in, out, &line, &cap, &asks, msg, msglen);
	sigaction(SIGINT, &old, NULL);
	free(line);
	return rc;
}
