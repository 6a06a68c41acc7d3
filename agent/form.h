/* form.h - an event's fields from the command line or from a clerk at a
 * terminal, driven by the field tables of common/event.h.
 *
 * Called by the record and amend commands (agent/cmd_event.c). Every field
 * of every kind is a long option because the option table is built from
 * tb_kind_fields(); a field added to the table is an option, a prompt and
 * a --help line with no change here. Guarantees: an event is changed only
 * through tb_event_set, so every value passes its field's rule, and every
 * refusal names the field and the rule (the message of common/event.c).
 */
#ifndef TB_AGENT_FORM_H
#define TB_AGENT_FORM_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/event.h"

#define TB_FORM_OPT_BASE 1000 /* getopt val of the first field option */
#define TB_FORM_MAX 128       /* field options on one command line */

/* Field options gathered from the command line, applied in order. */
struct tb_form {
	size_t n;
	struct {
		const char *option; /* static: the field's option spelling */
		const char *value;  /* borrowed from argv */
	} e[TB_FORM_MAX];
	const char *date;           /* --date, borrowed, or NULL */
};

/* Appends to opts[*n..cap) one getopt_long entry (required_argument, val
 * TB_FORM_OPT_BASE + k) per distinct field option of every kind, and
 * advances *n. 0 or TB_ETOOBIG. */
int tb_form_add_options(struct option *opts, size_t cap, size_t *n);

/* Records one getopt result. Returns 1 if val was a field option (taken),
 * 0 if it was not, TB_ETOOBIG if the form is full. */
int tb_form_take(struct tb_form *f, int val, const char *value);

/* Sets e's date from "YYYY-MM-DD". 0 or TB_EINVAL with msg. */
int tb_form_set_date(struct tb_event *e, const char *text, char *msg,
		     size_t msglen);

/* Applies the gathered date and fields to e, in order. TB_EUSAGE if an
 * option is not a field of e's kind (msg lists that kind's options),
 * TB_EINVAL with the rule's message if a value is bad, TB_ENOMEM. */
int tb_form_apply(const struct tb_form *f, struct tb_event *e, char *msg,
		  size_t msglen);

/* Asks for the date and every field of e's kind in turn on `out`, reading
 * answers from `in`: each prompt shows the field's help line and its
 * default (Enter takes it), a bad answer is refused with the rule and
 * asked again, and a rule that ties fields together (female <=
 * participants) sends the clerk back to the field it names. Returns 0 when
 * e passes tb_event_validate (without envelope); TB_EINVAL if the input
 * ended first (msg says so); TB_ENOMEM. */
int tb_form_prompt(struct tb_event *e, FILE *in, FILE *out,
		   int32_t default_date, char *msg, size_t msglen);

/* The --help text for one kind: every field option with its value type,
 * whether it is required, and its help line. */
void tb_form_help(FILE *out, enum tb_kind kind);

#endif
