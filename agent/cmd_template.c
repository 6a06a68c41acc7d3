/* cmd_template.c - `tienbo-agent template [KIND|all] [--format xlsx|csv]
 * [-o FILE]`: a sheet for clerks to fill, which import reads back.
 *
 * Called by tb_cli_main. The columns are the kind's (or every kind's, in
 * table order, as export writes them) under their Vietnamese labels,
 * after Loại hoạt động and Ngày. Row 2 is an example whose kind cell
 * begins "Ví dụ:", which import skips and names. The .xlsx (libxlsxwriter)
 * also has: a drop-down of the kinds and of yes/no, dates as real date
 * cells (dd/mm/yyyy), counts as whole numbers (#,##0), and a second sheet,
 * "Hướng dẫn", with each column's rule. The CSV is UTF-8 with a BOM and
 * ';' between cells, as Excel on Vietnamese Windows opens it.
 * Needs no store; writes the file whole or reports why it could not.
 */
#include "agent/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

#include "agent/input.h"
#include "agent/labels.h"
#include "agent/opts.h"
#include "common/csv.h"
#include "common/date.h"
#include "common/err.h"
#include "common/event.h"
#include "common/i18n.h"

#define EXAMPLE_PREFIX "Ví dụ: "
#define MAX_COLS (2 + TB_KIND_COUNT * TB_FIELDS_MAX)

enum { O_FORMAT, O_OUTPUT, O_COUNT };

static const struct tb_agent_opt template_opts[O_COUNT] = {
	[O_FORMAT] = { "format", 0, TB_OPT_TEXT, "xlsx|csv", 0, 0, "xlsx",
		       N_("the kind of file to write") },
	[O_OUTPUT] = { "output", 'o', TB_OPT_TEXT, N_("FILE"), 0, 0, NULL,
		       N_("where to write it (default: "
			  "tienbo-KIND.xlsx or .csv here)") },
};

static const struct tb_cmd_spec template_spec = {
	"template", N_("[KIND|all] [--format xlsx|csv] [-o FILE]"),
	N_("Writes a sheet to fill in Excel or LibreOffice and bring back "
	   "with\n'tienbo-agent import': the columns of KIND (default all: "
	   "every kind's),\nunder their Vietnamese names, and an example row "
	   "(its kind begins\n\"Ví dụ:\", and import skips it). The .xlsx "
	   "also has drop-down lists, date\nand number cells, and a second "
	   "sheet with the rule of every column.\n"),
	template_opts, O_COUNT, 0, 1, NULL, NULL
};

struct column {
	const char *header;        /* Vietnamese label */
	const struct tb_field *f;  /* NULL for kind and date */
	unsigned kinds;            /* bit k: kind k has it */
};

/* The columns for kind (or -1: all), as export orders them. */
static size_t columns(int kind, struct column *c)
{
	const struct tb_field *tab;
	size_t n, i, j, count = 2;
	int k;

	c[0] = (struct column){ TB_LABEL_KIND, NULL, 0 };
	c[1] = (struct column){ TB_LABEL_DATE, NULL, 0 };
	for (k = 0; k < TB_KIND_COUNT; k++) {
		if (kind >= 0 && k != kind)
			continue;
		c[0].kinds |= 1u << k;
		c[1].kinds |= 1u << k;
		tab = tb_kind_fields((enum tb_kind)k, &n);
		for (i = 0; i < n; i++) {
			for (j = 2; j < count; j++)
				if (strcmp(c[j].f->name, tab[i].name) == 0)
					break;
			if (j == count && count < MAX_COLS) {
				c[count].header = tb_label_field_vi(tab[i].name);
				if (!c[count].header)
					c[count].header = tab[i].option;
				c[count].f = &tab[i];
				c[count].kinds = 0;
				count++;
			}
			c[j].kinds |= 1u << k;
		}
	}
	return count;
}

/* The example value of field f in a row of kind k: "" when k lacks it. */
static const char *example(const struct column *c, enum tb_kind k,
			   char *buf, size_t len)
{
	const struct tb_field *f = c->f;
	const char *choice;

	if (!(c->kinds & (1u << k)))
		return "";
	switch (f->type) {
	case TB_FT_TEXT:
		if (strcmp(f->name, "title") == 0)
			return k == TB_KIND_TRAINING
				       ? "Tập huấn kỹ năng lồng ghép giới"
				       : k == TB_KIND_WEB_POST
					 ? "Bài viết về Tháng hành động"
					 : "Họp phụ huynh về bình đẳng giới";
		return "Bình đẳng giới trong nhà trường";
	case TB_FT_URL:
		return "https://truong.edu.vn/bai-viet";
	case TB_FT_BOOL:
		return "có";
	case TB_FT_CHOICE:
		if (k == TB_KIND_ACTION_MONTH && strstr(f->choices,
							 "action-month"))
			snprintf(buf, len, "action-month");
		else
			snprintf(buf, len, "%.*s",
				 (int)strcspn(f->choices, "|"), f->choices);
		choice = tb_label_choice_vi(buf);
		return choice ? choice : buf;
	case TB_FT_COUNT:
		break;
	}
	/* counts that satisfy every "at most" rule: the whole is larger */
	snprintf(buf, len, "%d", f->whole ? 12 : 40);
	return buf;
}

static const char *example_date(enum tb_kind k)
{
	return k == TB_KIND_SNAPSHOT ? "31/12/2025" : "20/11/2025";
}

/* The rule of a column in words, for the second sheet. */
static const char *rule(const struct column *c, size_t i)
{
	if (!c->f)
		return i == 1
			       ? _("The day, day/month/year (20/11/2025); "
				   "required")
			       : _("Tuyên truyền, Tập huấn, Tháng hành động, "
				   "Bài đăng website or Số liệu đơn vị; "
				   "required");
	return _(c->f->help);
}

static void kinds_text(unsigned kinds, char *buf, size_t len)
{
	size_t used = 0;
	int k, w;

	buf[0] = '\0';
	for (k = 0; k < TB_KIND_COUNT; k++) {
		if (!(kinds & (1u << k)))
			continue;
		w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
			     tb_label_kind_vi((enum tb_kind)k));
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
}

/* ---- CSV ------------------------------------------------------------------ */

static int write_csv(const char *path, int kind, const struct column *c,
		     size_t n)
{
	FILE *f = fopen(path, "wb");
	char buf[64], label[96];
	size_t i;
	int k, rc = TB_OK;

	if (!f)
		return TB_EIO;
	/* the labels and example values hold no ';', quote or line break,
	 * so no cell needs quoting */
	if (fputs("\xEF\xBB\xBF", f) == EOF)
		rc = TB_EIO;
	for (i = 0; rc == TB_OK && i < n; i++)
		if (fprintf(f, "%s%s", c[i].header, i + 1 < n ? ";" : "\r\n") <
		    0)
			rc = TB_EIO;
	for (k = 0; rc == TB_OK && k < TB_KIND_COUNT; k++) {
		if (kind >= 0 && k != kind)
			continue;
		snprintf(label, sizeof(label), EXAMPLE_PREFIX "%s",
			 tb_label_kind_vi((enum tb_kind)k));
		if (fprintf(f, "%s;%s", label, example_date((enum tb_kind)k)) <
		    0)
			rc = TB_EIO;
		for (i = 2; rc == TB_OK && i < n; i++) {
			const char *v = example(&c[i], (enum tb_kind)k, buf,
						sizeof(buf));

			if (fprintf(f, ";%s", v) < 0)
				rc = TB_EIO;
		}
		if (rc == TB_OK && fputs("\r\n", f) == EOF)
			rc = TB_EIO;
	}
	if (fclose(f) != 0)
		rc = TB_EIO;
	return rc;
}

/* ---- xlsx ----------------------------------------------------------------- */

static char *kind_list[TB_KIND_COUNT + 1];
static char *yes_no[] = { "có", "không", NULL };

static void validations(lxw_worksheet *ws, const struct column *c, size_t n)
{
	lxw_data_validation v;
	size_t i;
	int k;

	for (k = 0; k < TB_KIND_COUNT; k++)
		kind_list[k] = (char *)tb_label_kind_vi((enum tb_kind)k);
	memset(&v, 0, sizeof(v));
	v.validate = LXW_VALIDATION_TYPE_LIST;
	v.value_list = kind_list;
	v.error_type = LXW_VALIDATION_ERROR_TYPE_WARNING;
	worksheet_data_validation_range(ws, 2, 0, 5000, 0, &v);
	for (i = 2; i < n; i++) {
		if (c[i].f->type != TB_FT_BOOL)
			continue;
		memset(&v, 0, sizeof(v));
		v.validate = LXW_VALIDATION_TYPE_LIST;
		v.value_list = yes_no;
		worksheet_data_validation_range(ws, 1, (lxw_col_t)i, 5000,
						(lxw_col_t)i, &v);
	}
}

static int write_xlsx(const char *path, int kind, const struct column *c,
		      size_t n, char *msg, size_t msglen)
{
	lxw_workbook *wb = workbook_new(path);
	lxw_worksheet *ws, *help;
	lxw_format *bold, *date, *count, *wrap;
	char buf[64], label[96], kinds[256];
	lxw_row_t row = 1;
	lxw_error err;
	char why[TB_WHY_LEN];
	int32_t day;
	size_t i;
	int k;

	if (!wb) {
		snprintf(msg, msglen, _("cannot create %s: %s"), path,
			 strerror(errno ? errno : EIO));
		return TB_EIO;
	}
	ws = workbook_add_worksheet(wb, "Danh sách");
	help = workbook_add_worksheet(wb, "Hướng dẫn");
	bold = workbook_add_format(wb);
	format_set_bold(bold);
	format_set_text_wrap(bold);
	date = workbook_add_format(wb);
	format_set_num_format(date, "dd/mm/yyyy");
	count = workbook_add_format(wb);
	format_set_num_format(count, "#,##0");
	wrap = workbook_add_format(wb);
	format_set_text_wrap(wrap);
	for (i = 0; i < n; i++) {
		worksheet_write_string(ws, 0, (lxw_col_t)i, c[i].header, bold);
		worksheet_set_column(ws, (lxw_col_t)i, (lxw_col_t)i,
				     i == 2 ? 40 : 18, NULL);
	}
	worksheet_freeze_panes(ws, 1, 0);
	for (k = 0; k < TB_KIND_COUNT; k++) {
		lxw_datetime dt = { 0, 0, 0, 0, 0, 0 };

		if (kind >= 0 && k != kind)
			continue;
		snprintf(label, sizeof(label), EXAMPLE_PREFIX "%s",
			 tb_label_kind_vi((enum tb_kind)k));
		worksheet_write_string(ws, row, 0, label, NULL);
		if (tb_input_date(example_date((enum tb_kind)k), &day, why,
				  sizeof(why)) == TB_OK) {
			tb_date_to_ymd(day, &dt.year, &dt.month, &dt.day);
			worksheet_write_datetime(ws, row, 1, &dt, date);
		}
		for (i = 2; i < n; i++) {
			const char *v = example(&c[i], (enum tb_kind)k, buf,
						sizeof(buf));

			if (!v[0])
				continue;
			if (c[i].f->type == TB_FT_COUNT)
				worksheet_write_number(ws, row, (lxw_col_t)i,
						       (double)strtol(v, NULL,
								      10),
						       count);
			else
				worksheet_write_string(ws, row, (lxw_col_t)i,
						       v, NULL);
		}
		row++;
	}
	validations(ws, c, n);
	worksheet_write_string(help, 0, 0, _("Column"), bold);
	worksheet_write_string(help, 0, 1, _("Kinds that have it"), bold);
	worksheet_write_string(help, 0, 2, _("Rule"), bold);
	worksheet_set_column(help, 0, 1, 30, wrap);
	worksheet_set_column(help, 2, 2, 70, wrap);
	worksheet_write_string(help, 1, 0,
			       _("Row 2 is an example: its kind begins "
				 "\"Ví dụ:\" and import skips it. Write "
				 "one activity per row."),
			       NULL);
	for (i = 0; i < n; i++) {
		kinds_text(c[i].kinds, kinds, sizeof(kinds));
		worksheet_write_string(help, (lxw_row_t)(i + 3), 0,
				       c[i].header, NULL);
		worksheet_write_string(help, (lxw_row_t)(i + 3), 1, kinds,
				       NULL);
		worksheet_write_string(help, (lxw_row_t)(i + 3), 2, rule(&c[i], i),
				       NULL);
	}
	err = workbook_close(wb);
	if (err != LXW_NO_ERROR) {
		snprintf(msg, msglen, _("cannot write %s: %s"), path,
			 lxw_strerror(err));
		return TB_EIO;
	}
	return TB_OK;
}

int tb_cmd_template(struct tb_cli *cli, int argc, char **argv)
{
	struct tb_agent_opt_val v[O_COUNT];
	const char *args[TB_OPTS_ARGS_MAX], *fmt;
	struct column c[MAX_COLS];
	char path[512], msg[600];
	enum tb_kind k;
	size_t nargs, n;
	int rc, kind = -1, xlsx;

	rc = tb_opts_parse(cli, &template_spec, NULL, argc, argv, v, args,
			   &nargs);
	if (rc != TB_OK)
		return rc > 0 ? TB_OK : rc;
	fmt = v[O_FORMAT].set ? v[O_FORMAT].text : "xlsx";
	if (strcmp(fmt, "xlsx") != 0 && strcmp(fmt, "csv") != 0) {
		tb_cli_error(_("template: --format must be xlsx or csv (got "
			       "'%s')"),
			     fmt);
		return TB_EUSAGE;
	}
	xlsx = fmt[0] == 'x';
	if (nargs && strcmp(args[0], "all") != 0) {
		if (tb_kind_parse(args[0], &k) != TB_OK) {
			tb_cli_error(_("template: '%s' is not a kind: write "
				       "outreach, training, action-month, "
				       "web-post, snapshot or all"),
				     args[0]);
			return TB_EUSAGE;
		}
		kind = (int)k;
	}
	if (v[O_OUTPUT].set)
		snprintf(path, sizeof(path), "%s", v[O_OUTPUT].text);
	else
		snprintf(path, sizeof(path), "tienbo-%s.%s",
			 kind < 0 ? "all" : tb_kind_name((enum tb_kind)kind),
			 fmt);
	n = columns(kind, c);
	msg[0] = '\0';
	rc = xlsx ? write_xlsx(path, kind, c, n, msg, sizeof(msg))
		  : write_csv(path, kind, c, n);
	if (rc != TB_OK) {
		if (!msg[0])
			snprintf(msg, sizeof(msg), _("cannot write %s: %s"),
				 path, strerror(errno));
		tb_cli_error("template: %s", msg);
		return rc;
	}
	fprintf(stderr,
		_("tienbo-agent: wrote %s: fill one activity per row, save, "
		  "and run 'tienbo-agent import %s'\n"),
		path, path);
	return TB_OK;
}
