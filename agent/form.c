/* form.c - event fields from long options and from terminal prompts (see
 * form.h). Called by agent/cmd_event.c. Everything about a field (its
 * option, type, rule, help line) comes from tb_kind_fields().
 */
#include "agent/form.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/date.h"
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
	int32_t d;

	if (tb_date_parse(text, &d) != TB_OK) {
		snprintf(msg, msglen,
			 "date: must be a real calendar date written "
			 "YYYY-MM-DD, years %d-%d (got '%s')", TB_YEAR_MIN,
			 TB_YEAR_MAX, text);
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
		rc = tb_event_set(e, f->e[i].option, f->e[i].value, msg, msglen);
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
	fprintf(out, "  %-34s %s\n", "--date YYYY-MM-DD",
		kind == TB_KIND_SNAPSHOT
			? "The day the figures are as of (default: today)"
			: "The day it happened (default: today)");
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

/* One answer line into *line (getline buffer), without the line end.
 * 1 for an answer, 0 at end of input. */
static int read_answer(FILE *in, char **line, size_t *cap)
{
	ssize_t len = getline(line, cap, in);

	if (len < 0)
		return 0;
	while (len > 0 && ((*line)[len - 1] == '\n' || (*line)[len - 1] == '\r'))
		(*line)[--len] = '\0';
	return 1;
}

/* Asks for the date until a good one is given. */
static int ask_date(struct tb_event *e, FILE *in, FILE *out, char **line,
		    size_t *cap, int *asks, char *msg, size_t msglen)
{
	char def[TB_DATE_LEN];

	tb_date_format(e->date, def);
	while ((*asks)++ < MAX_ASKS) {
		fprintf(out, "date - %s, YYYY-MM-DD [default: %s]: ",
			e->kind == TB_KIND_SNAPSHOT ? "The day the figures are as of"
						    : "The day it happened",
			def);
		fflush(out);
		if (!read_answer(in, line, cap))
			break;
		if (!(*line)[0] ||
		    tb_form_set_date(e, *line, msg, msglen) == TB_OK)
			return TB_OK;
		fprintf(out, "  %s\n", msg);
	}
	snprintf(msg, msglen, "the input ended before every field was "
		 "answered; nothing was recorded");
	return TB_EINVAL;
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
		if (cur[0])
			fprintf(out, "%s - %s [default: %s]: ", f->option,
				f->help, cur);
		else if (f->required)
			fprintf(out, "%s - %s [required]: ", f->option, f->help);
		else
			fprintf(out, "%s - %s [default: empty]: ", f->option,
				f->help);
		fflush(out);
		if (!read_answer(in, line, cap))
			break;
		if (!(*line)[0] && cur[0])
			return TB_OK; /* keep the default */
		if (!(*line)[0] && f->required) {
			fprintf(out, "  %s: a value is required\n", f->name);
			continue;
		}
		rc = tb_event_set(e, f->name, *line, msg, msglen);
		if (rc == TB_OK)
			return TB_OK;
		if (rc != TB_EINVAL)
			return rc;
		fprintf(out, "  %s\n", msg);
	}
	snprintf(msg, msglen, "the input ended before every field was "
		 "answered; nothing was recorded");
	return TB_EINVAL;
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

int tb_form_prompt(struct tb_event *e, FILE *in, FILE *out,
		   int32_t default_date, char *msg, size_t msglen)
{
	char *line = NULL;
	size_t cap = 0, n, i;
	int rc, asks = 0, idx;

	tb_kind_fields(e->kind, &n);
	e->date = default_date;
	fprintf(out, "New %s record. Press Enter to take the [default]; "
		"Ctrl-D stops without recording.\n", tb_kind_name(e->kind));
	rc = ask_date(e, in, out, &line, &cap, &asks, msg, msglen);
	for (i = 0; rc == TB_OK && i < n; i++)
		rc = ask_field(e, (int)i, in, out, &line, &cap, &asks, msg,
			       msglen);
	/* Rules that tie fields together: back to the field they name. */
	while (rc == TB_OK &&
	       (rc = tb_event_validate(e, 0, msg, msglen)) == TB_EINVAL) {
		idx = blamed_field(e->kind, msg);
		if (idx == -1 || asks >= MAX_ASKS)
			break;
		fprintf(out, "  %s\n", msg);
		if (idx == -2)
			rc = ask_date(e, in, out, &line, &cap, &asks, msg,
				      msglen);
		else
			rc = ask_field(e, idx, in, out, &line, &cap, &asks, msg,
				       msglen);
	}
	free(line);
	return rc;
}
