/* test_report.c - the report engine (server/report.c, server/rollup.c) and
 * its outputs (server/report_out.c).
 *
 * Fixture: 30 units in 3 districts (DA, DB, DC) of province PV, ten levels
 * each (an office, MN, TH, THCS, THPT, GDTX), generated deterministically
 * below: outreach events, Action Month activities, trainings, quarterly
 * web posts and snapshots from 2021 to 2025. Unit 9 of each district never
 * syncs; SB08 sends only snapshots. Events reach the database through the
 * server's own enrollment and batch merge (server/auth.c, server/merge.c),
 * so the roll-up triggers see exactly what a real upload does.
 *
 * Expected values are worked out here from the fixture arrays by a naive
 * loop over every event for every unit (ref_eval), not from the program:
 * every indicator of both plans, for H1, H2, the Action Month, cumulative
 * and more, for all units, the province, a district and a school. Then an
 * amendment and a void are merged and everything is checked again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "common/config.h"
#include "common/csv.h"
#include "common/date.h"
#include "common/err.h"
#include "common/event.h"
#include "common/fold.h"
#include "common/mem.h"
#include "common/mem_sqlite.h"
#include "protocol/codec.h"
#include "server/evrow.h"
#include "server/sql.h"
#include "server/auth.h"
#include "tests/helper_merge.h"
#include "tests/helper_pg.h"
#include "tests/helper_proc.h"
#include "tests/helper_server.h"
#include "server/db.h"
#include "server/merge.h"
#include "server/plan.h"
#include "server/report.h"
#include "server/report_cli.h"
#include "server/report_html.h"
#include "server/report_http.h"
#include "server/report_out.h"
#include "server/report_search.h"
#include "server/rollup.h"

#define NDIST 3
#define PER 10
#define NUNITS (NDIST * PER)
#define MAXEV 4000

static const char *const dist_codes[NDIST] = {"DA", "DB", "DC"};
static const char *const dist_names[NDIST] = {"Huyện Đà Bắc", "Huyện Lạc Sơn",
					      "Thành phố Hòa Bình"};
static const char *const unit_levels[PER] = {"office", "MN",   "MN",
					     "TH",     "TH",   "THCS",
					     "THCS",   "THPT", "GDTX",
					     "TH"};

struct fx {
	int unit;
	enum tb_kind kind;
	int32_t date;
	int64_t v[TB_FIELDS_MAX]; /* by the kind's field index; -1 unset */
	int voided;
	int am_occasion; /* outreach: occasion action-month */
	int64_t revision;
	char id[TB_ID_LEN];
};

static struct fx ev[MAXEV];
static size_t nev;
static char codes[NUNITS][8];
static char tokens[NUNITS][TB_TOKEN_LEN + 1];
static int64_t next_seq[NUNITS];
static struct tb_plan_set *plans;
static struct tb_sql *db;
static char tmpdir[64];
static uint32_t rnd_state = 12345;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) % n;
}

static int32_t day(int y, int m, int d)
{
	return tb_date_from_ymd(y, m, d);
}

/* ---- the fixture -------------------------------------------------------- */

static struct fx *fx_new(int unit, enum tb_kind kind, int32_t date)
{
	struct fx *e;

	assert_true(nev < MAXEV);
	e = &ev[nev];
	memset(e, 0, sizeof(*e));
	e->unit = unit;
	e->kind = kind;
	e->date = date;
	e->revision = 1;
	for (int i = 0; i < TB_FIELDS_MAX; i++)
		e->v[i] = -1;
	snprintf(e->id, sizeof(e->id), "00000000-0000-4000-8000-%012zx",
		 nev + 1);
	nev++;
	return e;
}

static void fx_set(struct fx *e, const char *field, int64_t v)
{
	int i = tb_field_index(e->kind, field);

	assert_true(i >= 0);
	e->v[i] = v;
}

static int64_t fx_get(const struct fx *e, const char *field)
{
	int i = tb_field_index(e->kind, field);

	return i < 0 ? -1 : e->v[i];
}

static void gen_audience(struct fx *e)
{
	fx_set(e, "parents", 1 + rnd(40));
	fx_set(e, "students", rnd(200));
	fx_set(e, "teachers_staff", rnd(20));
	fx_set(e, "officials", rnd(4));
}

static void gen_training(int u, int32_t date)
{
	struct fx *e = fx_new(u, TB_KIND_TRAINING, date);
	int64_t p = 5 + rnd(20), f = rnd((uint32_t)p + 1);

	fx_set(e, "participants", p);
	fx_set(e, "female", f);
	fx_set(e, "ban_members", rnd((uint32_t)p + 1));
	fx_set(e, "women_in_planning", rnd((uint32_t)f + 1));
	fx_set(e, "communicators", rnd((uint32_t)p + 1));
}

/* A whole/part pair of snapshot figures, or unset when `skip`. */
static void gen_pair(struct fx *e, const char *whole, const char *part,
		     int skip)
{
	int64_t w = rnd(30);

	if (skip)
		return;
	fx_set(e, whole, w);
	fx_set(e, part, rnd((uint32_t)w + 1));
}

static void gen_snapshot(int u, int32_t date, int partial)
{
	static const char *const pairs[][2] = {
		{"ban_members", "ban_members_trained"},
		{"women_in_planning", "women_in_planning_trained"},
		{"key_posts", "key_posts_women"},
		{"masters", "masters_female"},
		{"doctors", "doctors_female"},
		{"science_tasks", "science_tasks_women_led"},
		{"nursery_age_children", "nursery_age_enrolled"},
		{"kindergarten_age_children", "kindergarten_age_enrolled"},
		{"em_primary_cohort", "em_primary_completed"},
		{"em_lower_secondary_cohort", "em_lower_secondary_completed"},
		{"women_adults", "women_literate"},
		{"em_women_adults", "em_women_literate"}};
	struct fx *e = fx_new(u, TB_KIND_SNAPSHOT, date);

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		gen_pair(e, pairs[i][0], pairs[i][1], partial && rnd(3) == 0);
	if (!partial || rnd(2))
		fx_set(e, "website_section", rnd(4) != 0);
	if (!partial || rnd(2))
		fx_set(e, "curriculum_content", rnd(3) != 0);
	if (!partial || rnd(2))
		fx_set(e, "legal_outreach", rnd(3) != 0);
	fx_set(e, "ban_members", 1 + rnd(20)); /* a snapshot says something */
	fx_set(e, "ban_members_trained", rnd((uint32_t)fx_get(e, "ban_members")));
}

static void gen_year(int u, int y)
{
	for (int i = 0; i < 6; i++) {
		struct fx *e = fx_new(u, TB_KIND_OUTREACH,
				      day(y, 1 + 2 * i, 1 + (int)rnd(28)));

		gen_audience(e);
		/* November's outreach is an Action Month occasion: it counts
		 * in the Month's summary when held from the 15th on */
		e->am_occasion = i == 5;
	}
	gen_audience(fx_new(u, TB_KIND_ACTION_MONTH,
			    day(y, 11, 15 + (int)rnd(16))));
	gen_audience(fx_new(u, TB_KIND_ACTION_MONTH,
			    day(y, 12, 1 + (int)rnd(15))));
	gen_training(u, day(y, 4, 1 + (int)rnd(28)));
	gen_training(u, day(y, 10, 1 + (int)rnd(28)));
	for (int q = 0; q < 4; q++) {
		struct fx *e;

		if ((u + q + y) % 7 == 0)
			continue; /* a quarter without a post */
		e = fx_new(u, TB_KIND_WEB_POST, day(y, 3 * q + 2, 10));
		(void)e;
	}
}

static void gen_fixture(void)
{
	nev = 0;
	for (int u = 0; u < NUNITS; u++) {
		snprintf(codes[u], sizeof(codes[u]), "S%c%02d", 'A' + u / PER,
			 u % PER);
		if (u % PER == 9)
			continue; /* never syncs */
		if (u != PER + 8) { /* SB08: snapshots only */
			gen_audience(fx_new(u, TB_KIND_OUTREACH,
					    day(2021, 6, 1 + (int)rnd(28))));
			gen_audience(fx_new(u, TB_KIND_OUTREACH,
					    day(2022, 5, 1 + (int)rnd(28))));
			gen_audience(fx_new(u, TB_KIND_OUTREACH,
					    day(2023, 9, 1 + (int)rnd(28))));
			gen_year(u, 2024);
			gen_year(u, 2025);
		}
		gen_snapshot(u, day(2024, 12, 20), 0);
		gen_snapshot(u, day(2025, 6, 20), 1);
		if (u % 3 == 0)
			gen_snapshot(u, day(2025, 12, 20), 1);
	}
}

/* ---- loading through the merge ----------------------------------------- */

static void fx_event(const struct fx *f, struct tb_event *e)
{
	const struct tb_field *tab;
	char buf[32], msg[TB_MSG_LEN] = "";
	size_t n;

	tb_event_init(e, f->kind);
	memcpy(e->id, f->id, sizeof(e->id));
	snprintf(e->school, sizeof(e->school), "%s", codes[f->unit]);
	e->date = f->date;
	e->revision = f->revision;
	e->recorded_at = (int64_t)f->date * 86400 + f->revision;
	e->seq = ++next_seq[f->unit];
	tab = tb_kind_fields(f->kind, &n);
	for (size_t i = 0; i < n; i++) {
		if (tab[i].required && tab[i].type == TB_FT_TEXT)
			assert_int_equal(tb_event_set(e, tab[i].name,
						      "Tuyên truyền bình đẳng giới",
						      msg, sizeof(msg)), 0);
		if (f->v[i] < 0)
			continue;
		snprintf(buf, sizeof(buf), "%lld", (long long)f->v[i]);
		if (tab[i].type == TB_FT_BOOL)
			snprintf(buf, sizeof(buf), "%s", f->v[i] ? "yes" : "no");
		if (tb_event_set(e, tab[i].name, buf, msg, sizeof(msg)))
			fail_msg("%s", msg);
	}
	if (f->am_occasion &&
	    tb_event_set(e, "occasion", "action-month", msg, sizeof(msg)))
		fail_msg("%s", msg);
	if (f->voided) {
		e->voided = 1;
		e->void_reason = tb_strdup("nhập nhầm");
		assert_non_null(e->void_reason);
	}
	if (tb_event_validate(e, 0, msg, sizeof(msg)))
		fail_msg("fixture event %s: %s", f->id, msg);
}

/* Merges the fixture events of one unit (only those in `which`, or all). */
static void merge_unit(struct tb_sql *d, int u, const size_t *which, size_t nwhich)
{
	struct tb_batch b;
	struct tb_event e;
	char msg[256];

	tb_batch_init(&b);
	for (size_t k = 0; k < (which ? nwhich : nev); k++) {
		size_t i = which ? which[k] : k;

		if (ev[i].unit != u)
			continue;
		fx_event(&ev[i], &e);
		assert_int_equal(tb_batch_add(&b, &e), 0);
		tb_event_clear(&e);
	}
	if (helper_merge_batch(d, tokens[u], codes[u], u + 1, &b, msg,
			       sizeof(msg)))
		fail_msg("%s", msg);
}

static void enroll_all(struct tb_sql *d)
{
	char msg[256] = "", sql[256];
	int64_t id;

	for (int u = 0; u < NUNITS; u++) {
		struct tb_org_school s = {codes[u], codes[u],
					  unit_levels[u % PER],
					  dist_codes[u / PER], "PV"};

		if (tb_auth_enroll(d, &s, tokens[u], &id, msg, sizeof(msg)))
			fail_msg("%s", msg);
	}
	for (int i = 0; i < NDIST; i++) {
		snprintf(sql, sizeof(sql), "UPDATE units SET name = '%s' WHERE"
			 " code = '%s'", dist_names[i], dist_codes[i]);
		assert_int_equal(tb_sql_exec(d, sql, msg, sizeof(msg)), 0);
	}
}

static struct tb_sql *open_db(const char *name, int init_first)
{
	char path[600], msg[256] = "";
	struct tb_db_opts o = {0, 0, 0, 1}; /* create */
	struct tb_sql *d = NULL;

	if (name[0] == '/' || tb_sql_is_url(name))
		snprintf(path, sizeof(path), "%s", name);
	else if (helper_pg_db_path(path, sizeof(path), tmpdir, name))
		fail_msg("no database for %s", name);
	if (tb_db_open(path, &o, &d, msg, sizeof(msg)))
		fail_msg("%s", msg);
	if (init_first && tb_report_init(d, msg, sizeof(msg)))
		fail_msg("%s", msg);
	memset(next_seq, 0, sizeof(next_seq));
	enroll_all(d);
	for (int u = 0; u < NUNITS; u++)
		merge_unit(d, u, NULL, 0);
	if (!init_first && tb_report_init(d, msg, sizeof(msg)))
		fail_msg("%s", msg);
	return d;
}

static int setup(void **state)
{
	char msg[TB_PLAN_MSG_LEN] = "";

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tb-report-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	if (tb_plan_set_load(TB_SOURCE_DIR "/plans", &plans, msg, sizeof(msg))) {
		fprintf(stderr, "%s\n", msg);
		return -1;
	}
	gen_fixture();
	db = open_db("fixture.db", 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	tb_sql_close(db);
	tb_plan_set_destroy(plans);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (getenv("TB_KEEP")) return 0;
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the reference: naive loops over the fixture ------------------------ */

struct ref {
	int has_value, has_cum;
	double value, cum;
	long reported, expected;
	char missing[NUNITS][8];
	size_t nmissing;
};

/* 1 if unit u is under org (NULL = all, "PV", a district, a school). */
static int under(int u, const char *org)
{
	return !org || strcmp(org, "PV") == 0 ||
	       strcmp(org, dist_codes[u / PER]) == 0 ||
	       strcmp(org, codes[u]) == 0;
}

static int any_event(int u, int32_t from, int32_t to)
{
	for (size_t i = 0; i < nev; i++)
		if (ev[i].unit == u && !ev[i].voided && ev[i].date >= from &&
		    ev[i].date <= to)
			return 1;
	return 0;
}

static int64_t sum_of(int u, unsigned kinds, const char *field, int32_t from,
		      int32_t to)
{
	int64_t s = 0;

	for (size_t i = 0; i < nev; i++) {
		const struct fx *e = &ev[i];

		if (e->unit != u || e->voided || !(kinds & (1u << e->kind)) ||
		    e->date < from || e->date > to)
			continue;
		s += field ? (fx_get(e, field) > 0 ? fx_get(e, field) : 0) : 1;
	}
	return s;
}

/* The Action Month's figure (field, or NULL for the number of
 * activities) of unit u in [from, to]: events of kind action-month and
 * outreach events whose occasion is the Action Month. */
static int64_t am_sum(int u, const char *field, int32_t from, int32_t to)
{
	int64_t s = sum_of(u, 1u << TB_KIND_ACTION_MONTH, field, from, to);

	for (size_t i = 0; i < nev; i++) {
		const struct fx *e = &ev[i];

		if (e->unit != u || e->voided || !e->am_occasion ||
		    e->date < from || e->date > to)
			continue;
		s += field ? (fx_get(e, field) > 0 ? fx_get(e, field) : 0) : 1;
	}
	return s;
}

/* The latest snapshot of u on or before `to` that gives field f (and g,
 * if g >= 0); NULL if none. */
static const struct fx *latest(int u, int f, int g, int32_t to)
{
	const struct fx *best = NULL;

	for (size_t i = 0; i < nev; i++) {
		const struct fx *e = &ev[i];

		if (e->unit != u || e->voided || e->kind != TB_KIND_SNAPSHOT ||
		    e->date > to || e->v[f] < 0 || (g >= 0 && e->v[g] < 0))
			continue;
		if (!best || e->date >= best->date)
			best = e;
	}
	return best;
}

static int quarters_ok(int u, unsigned kinds, int32_t from, int32_t to)
{
	for (int32_t d = from; d <= to;) {
		int y, m, dd, q;
		int32_t qend;

		tb_date_to_ymd(d, &y, &m, &dd);
		q = (m - 1) / 3;
		qend = day(y, 3 * q + 3, tb_days_in_month(y, 3 * q + 3));
		if (qend > to)
			qend = to;
		if (sum_of(u, kinds, NULL, d, qend) == 0)
			return 0;
		d = qend + 1;
	}
	return 1;
}

static void ref_eval(const struct tb_plan *p, const struct tb_plan_ind *ind,
		     const char *org, const struct tb_period *per,
		     struct ref *out)
{
	const struct tb_plan_formula *f = &ind->f;
	int64_t sum = 0, cum = 0, num = 0, den = 0, yes = 0;
	int cum_any = 0;

	memset(out, 0, sizeof(*out));
	for (int u = 0; u < NUNITS; u++) {
		const struct fx *s;
		int rep = 0;

		if (!under(u, org) ||
		    !(ind->levels & tb_plan_level_bit(unit_levels[u % PER])))
			continue;
		out->expected++;
		switch (f->type) {
		case TB_F_SUM:
		case TB_F_COUNT:
			rep = any_event(u, per->from, per->to);
			if (rep)
				sum += sum_of(u, f->kinds, f->type == TB_F_SUM
								  ? f->name
								  : NULL,
					      per->from, per->to);
			cum += sum_of(u, f->kinds,
				      f->type == TB_F_SUM ? f->name : NULL,
				      p->start, per->to);
			cum_any |= any_event(u, p->start, per->to);
			break;
		case TB_F_SHARE_UNITS:
			s = latest(u, f->field, -1, per->to);
			rep = s != NULL;
			yes += s && s->v[f->field] > 0;
			break;
		case TB_F_RATIO:
			s = latest(u, f->num, f->den, per->to);
			rep = s != NULL;
			num += s ? s->v[f->num] : 0;
			den += s ? s->v[f->den] : 0;
			break;
		case TB_F_EVERY_QUARTER:
			rep = any_event(u, per->from, per->to);
			yes += rep && quarters_ok(u, f->kinds, per->from, per->to);
			break;
		case TB_F_NOT_COLLECTED:
			rep = 1; /* not listed as missing */
			break;
		}
		if (f->type != TB_F_NOT_COLLECTED)
			out->reported += rep;
		if (!rep)
			memcpy(out->missing[out->nmissing++], codes[u], 8);
	}
	switch (f->type) {
	case TB_F_SUM:
	case TB_F_COUNT:
		out->has_value = out->reported > 0;
		out->value = (double)sum;
		out->has_cum = f->cumulative && cum_any;
		out->cum = (double)cum;
		break;
	case TB_F_SHARE_UNITS:
	case TB_F_EVERY_QUARTER: {
		long over = f->over == TB_OVER_EXPECTED ? out->expected
							: out->reported;

		out->has_value = out->reported > 0 && over > 0;
		out->value = out->has_value ? 100.0 * yes / over : 0;
		break;
	}
	case TB_F_RATIO:
		out->has_value = den > 0;
		out->value = den > 0 ? 100.0 * num / den : 0;
		break;
	case TB_F_NOT_COLLECTED:
		break;
	}
}

static void check_row(const struct tb_report *r, const struct tb_report_row *row,
		      const char *org)
{
	struct ref want;
	const char *what = row->ind->id;

	ref_eval(r->plan, row->ind, org, &r->period, &want);
	if (row->v.expected != want.expected ||
	    row->v.reported != want.reported ||
	    row->v.has_value != want.has_value ||
	    (want.has_value && fabs(row->v.value - want.value) > 1e-9) ||
	    row->v.has_cumulative != want.has_cum ||
	    (want.has_cum && fabs(row->v.cumulative - want.cum) > 1e-9))
		fail_msg("%s %s %s: got %ld/%ld value %d:%g cum %d:%g, want "
			 "%ld/%ld value %d:%g cum %d:%g", r->plan->id,
			 r->period.label, what, row->v.reported,
			 row->v.expected, row->v.has_value, row->v.value,
			 row->v.has_cumulative, row->v.cumulative,
			 want.reported, want.expected, want.has_value,
			 want.value, want.has_cum, want.cum);
	assert_int_equal(row->nmissing, want.nmissing);
	for (size_t i = 0; i < want.nmissing; i++)
		assert_string_equal(row->missing[i], want.missing[i]);
	if (row->ind->f.type == TB_F_NOT_COLLECTED)
		assert_int_equal(row->v.status, TB_ST_NOT_COLLECTED);
}

static const char *const periods[] = {
	"2025-H1", "2025-H2", "action-month-2025", "cumulative:2025-12-31",
	"cumulative:2025-06-30", "2025", "2025-Q3", "2024-H2",
	"action-month-2024", "2025-11"};
static const char *const orgs[] = {NULL, "PV", "DB", "SA03", "SB08", "SC09"};

static struct tb_report *run(struct tb_sql *d, const char *plan, const char *period,
			     const char *org, int detail)
{
	struct tb_report_opts o = {org, 0, detail, 0, 0, 0};
	struct tb_report *r = NULL;
	char msg[256] = "";

	if (tb_report_run(d, tb_plan_set_find(plans, plan), period, &o, &r,
			  msg, sizeof(msg)))
		fail_msg("%s %s: %s", plan, period, msg);
	return r;
}

static void check_all(struct tb_sql *d)
{
	for (size_t p = 0; p < plans->count; p++)
		for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++)
			for (size_t o = 0; o < sizeof(orgs) / sizeof(orgs[0]);
			     o++) {
				struct tb_report *r = run(d, plans->plans[p]->id,
							  periods[i], orgs[o],
							  o == 0);

				assert_int_equal(r->nrows, plans->plans[p]->count);
				for (size_t k = 0; k < r->nrows; k++)
					check_row(r, &r->rows[k], orgs[o]);
				tb_report_destroy(r);
			}
}

/* ---- tests -------------------------------------------------------------- */

static void test_every_indicator(void **state)
{
	(void)state;
	check_all(db);
}

/* Another database with the fixture, leaving fixture.db's tokens and
 * sequence numbers as they were. */
static struct tb_sql *other_db(const char *path, int init_first)
{
	static char saved_tokens[NUNITS][TB_TOKEN_LEN + 1];
	static int64_t saved_seq[NUNITS];
	struct tb_sql *d;

	memcpy(saved_tokens, tokens, sizeof(tokens));
	memcpy(saved_seq, next_seq, sizeof(next_seq));
	d = open_db(path, init_first);
	memcpy(tokens, saved_tokens, sizeof(tokens));
	memcpy(next_seq, saved_seq, sizeof(next_seq));
	return d;
}

/* The roll-ups filled from events already stored (init after the merge)
 * give the same reports as those kept by the triggers. */
static void test_rebuild(void **state)
{
	struct tb_sql *d2;

	(void)state;
	d2 = other_db("rebuilt.db", 0);
	check_all(d2);
	tb_sql_close(d2);
}

static void test_missing_never_zero(void **state)
{
	struct tb_report *r;
	const struct tb_report_row *row;

	(void)state;
	r = run(db, "hoa-binh-2022-2030", "2025-H1", NULL, 0);
	row = tb_report_find(r, "HB-3.1/parents");
	assert_non_null(row);
	assert_int_equal(row->v.expected, NUNITS);
	/* the three silent units; SB08 synced (a snapshot in June) */
	assert_int_equal(row->v.reported, NUNITS - 3);
	assert_int_equal(row->nmissing, 3);
	assert_string_equal(row->missing[0], "SA09");
	assert_string_equal(row->missing[1], "SB09");
	assert_string_equal(row->missing[2], "SC09");
	assert_true(row->v.has_value && row->v.value > 0);
	tb_report_destroy(r);

	r = run(db, "hoa-binh-2022-2030", "2025-H1", "SC09", 0);
	for (size_t k = 0; k < r->nrows; k++) {
		const struct tb_report_row *w = &r->rows[k];

		if (w->v.expected == 0)
			continue; /* the level does not apply */
		assert_false(w->v.has_value);
		assert_int_equal(w->v.reported, 0);
		assert_true(w->v.status == TB_ST_NO_DATA ||
			    w->v.status == TB_ST_NO_TARGET ||
			    w->v.status == TB_ST_NOT_COLLECTED);
	}
	tb_report_destroy(r);
}

static void test_errors(void **state)
{
	struct tb_report *r = (struct tb_report *)1;
	char msg[256];
	const struct tb_plan *p = tb_plan_set_find(plans, "thanh-oai-2021-2030");

	(void)state;
	assert_int_equal(tb_report_run(db, p, "2025-H3", NULL, &r, msg,
				       sizeof(msg)),
			 TB_EINVAL);
	assert_null(r);
	assert_non_null(strstr(msg, "period"));
	{
		struct tb_report_opts o = {"NOPE", 0, 0, 0, 0, 0};

		assert_int_equal(tb_report_run(db, p, "2025", &o, &r, msg,
					       sizeof(msg)),
				 TB_ENOTFOUND);
		assert_non_null(strstr(msg, "NOPE"));
	}
}

static const struct tb_plan_ind *plan_ind(const char *plan, const char *id)
{
	const struct tb_plan *p = tb_plan_set_find(plans, plan);

	for (size_t i = 0; p && i < p->count; i++)
		if (strcmp(p->ind[i].id, id) == 0)
			return &p->ind[i];
	fail_msg("no %s in %s", id, plan);
	return NULL;
}

/* Targets set around the fixture's own numbers flip the status exactly
 * where the comparison says; a cumulative target is pro-rated by days. */
static void test_status(void **state)
{
	const char *hb = "hoa-binh-2022-2030";
	const struct tb_plan_ind *parents = plan_ind(hb, "HB-3.1/parents");
	struct tb_period h1, c6;
	struct ref v, c;
	struct tb_plan *p = NULL;
	struct tb_report *r = NULL;
	struct tb_report_opts o = {NULL, 0, 0, 0, 0, 0};
	char text[8192], msg[TB_PLAN_MSG_LEN] = "";
	long long V, C, T1, T2;
	const double share = 1277.0 / 1461.0; /* 2022-01-01..2025-06-30 of
						 2022-01-01..2025-12-31 */

	(void)state;
	assert_int_equal(tb_period_parse("2025-H1", &h1), 0);
	assert_int_equal(tb_period_parse("cumulative:2025-06-30", &c6), 0);
	c6.from = day(2022, 1, 1);
	ref_eval(tb_plan_set_find(plans, hb), parents, NULL, &h1, &v);
	ref_eval(tb_plan_set_find(plans, hb), parents, NULL, &c6, &c);
	V = (long long)v.value;
	C = (long long)c.cum;
	assert_true(V > 100 && C > V);
	T1 = C;                                   /* due: C * share < C */
	T2 = (long long)((double)C / share * 1.05) + 1; /* due > C */
#define SUM_IND(id, cmp, val, cum)                                         \
	"{\"id\": \"" id "\", \"name_vi\": \"x\", \"name_en\": \"x\","      \
	" \"unit\": \"count\", \"levels\": \"all\", \"targets\": {\"2025\":" \
	" {\"cmp\": \"" cmp "\", \"value\": %lld}}, \"formula\": {\"type\":" \
	" \"sum\", \"kinds\": [\"outreach\", \"action-month\"], \"field\":" \
	" \"parents\", \"cumulative\": " cum "}}"
	snprintf(text, sizeof(text),
		 "{\"format\": 1, \"id\": \"s\", \"name_vi\": \"s\", \"name_en\":"
		 " \"s\", \"start\": \"2022-01-01\", \"end\": \"2030-12-31\","
		 " \"indicators\": [" SUM_IND("GE", ">=", V, "false") ", "
		 SUM_IND("GT", ">", V, "false") ", "
		 SUM_IND("AB-OK", "about", (V * 11) / 10, "false") ", "
		 SUM_IND("AB-NO", "about", (V * 12) / 10, "false") ", "
		 SUM_IND("CUM-OK", ">=", T1, "true") ", "
		 SUM_IND("CUM-NO", ">=", T2, "true") ", "
		 "{\"id\": \"LATE\", \"name_vi\": \"x\", \"name_en\": \"x\","
		 " \"unit\": \"ratio\", \"levels\": \"all\", \"targets\":"
		 " {\"2030\": {\"cmp\": \">=\", \"value\": 1}}, \"formula\":"
		 " {\"type\": \"ratio\", \"num\": \"masters_female\", \"den\":"
		 " \"masters\"}}]}",
		 V, V, (V * 11) / 10, (V * 12) / 10, T1, T2);
	if (tb_plan_parse("status.json", text, strlen(text), &p, msg,
			  sizeof(msg)))
		fail_msg("%s", msg);
	assert_int_equal(tb_report_run(db, p, "2025-H1", &o, &r, msg,
				       sizeof(msg)), 0);
	assert_int_equal(tb_report_find(r, "GE")->v.status, TB_ST_ON_TRACK);
	assert_true(fabs(tb_report_find(r, "GE")->v.progress_pct - 100) < 1e-9);
	assert_int_equal(tb_report_find(r, "GT")->v.status, TB_ST_BEHIND);
	assert_int_equal(tb_report_find(r, "AB-OK")->v.status, TB_ST_ON_TRACK);
	assert_int_equal(tb_report_find(r, "AB-NO")->v.status, TB_ST_BEHIND);
	assert_int_equal(tb_report_find(r, "LATE")->v.target->year, 2030);
	tb_report_destroy(r);

	assert_int_equal(tb_report_run(db, p, "cumulative:2025-06-30", &o, &r,
				       msg, sizeof(msg)), 0);
	{
		const struct tb_report_row *ok = tb_report_find(r, "CUM-OK");
		const struct tb_report_row *no = tb_report_find(r, "CUM-NO");

		assert_true(fabs(ok->v.cumulative - (double)C) < 1e-9);
		assert_true(fabs(ok->v.expected_now - (double)T1 * share) < 1e-6);
		assert_true(fabs(ok->v.progress_pct - 100) < 1e-9);
		assert_int_equal(ok->v.status, TB_ST_ON_TRACK);
		assert_true(fabs(no->v.expected_now - (double)T2 * share) < 1e-6);
		assert_int_equal(no->v.status, TB_ST_BEHIND);
	}
	tb_report_destroy(r);
	assert_int_equal(tb_report_run(db, p, "2030", &o, &r, msg, sizeof(msg)),
			 0);
	assert_int_equal(tb_report_find(r, "GE")->v.status, TB_ST_NO_TARGET);
	assert_null(tb_report_find(r, "GE")->v.target);
	tb_report_destroy(r);
	tb_plan_destroy(p);
}

/* Per district the numbers are those of a report for that district; the
 * Action Month summary and the stale list come from the fixture. */
static void test_detail(void **state)
{
	struct tb_report *r;
	int64_t now = tb_time_now();
	char sql[256], msg[256];

	(void)state;
	r = run(db, "thanh-oai-2021-2030", "2025-H2", NULL, 1);
	assert_int_equal(r->ndistricts, NDIST);
	for (size_t j = 0; j < NDIST; j++) {
		struct tb_report_district *d = &r->districts[j];

		assert_string_equal(d->code, dist_codes[j]);
		assert_string_equal(d->name, dist_names[j]);
		assert_int_equal(d->units, PER);
		for (size_t k = 0; k < r->nrows; k++) {
			struct ref want;

			ref_eval(r->plan, r->rows[k].ind, dist_codes[j],
				 &r->period, &want);
			assert_int_equal(d->v[k].expected, want.expected);
			assert_int_equal(d->v[k].reported, want.reported);
			assert_int_equal(d->v[k].has_value, want.has_value);
			if (want.has_value)
				assert_true(fabs(d->v[k].value - want.value) <
					    1e-9);
		}
		/* Action Month 2025 of the district */
		{
			int64_t acts = 0, par = 0;
			long active = 0;

			for (int u = (int)j * PER; u < (int)(j + 1) * PER; u++) {
				int64_t n = am_sum(u, NULL, day(2025, 11, 15),
						   day(2025, 12, 15));

				acts += n;
				active += n > 0;
				par += am_sum(u, "parents", day(2025, 11, 15),
					      day(2025, 12, 15));
			}
			assert_int_equal(d->am.year, 2025);
			assert_int_equal(d->am.activities, acts);
			assert_int_equal(d->am.parents, par);
			assert_int_equal(d->am.units_active, active);
			assert_int_equal(d->am.units, PER);
		}
	}
	assert_int_equal(r->am.units, NUNITS);
	assert_int_equal(r->am.from, day(2025, 11, 15));
	{ /* the fixture has outreach of the Action Month in the window and
	     out of it, so the summary's rule is exercised both ways */
		int in = 0, out = 0;

		for (size_t i = 0; i < nev; i++)
			if (ev[i].am_occasion && ev[i].date >= day(2025, 11, 15))
				in++;
			else if (ev[i].am_occasion &&
				 ev[i].date >= day(2025, 11, 1))
				out++;
		assert_true(in > 0 && out > 0);
	}
	tb_report_destroy(r);

	r = run(db, "thanh-oai-2021-2030", "2025-H1", NULL, 1);
	assert_int_equal(r->am.year, 2024); /* the last one before June */
	tb_report_destroy(r);

	/* SA01 last seen 20 days ago; the silent units never */
	snprintf(sql, sizeof(sql), "UPDATE devices SET last_seen = %lld WHERE"
		 " school = 'SA01'; UPDATE cursors SET updated_at = %lld WHERE"
		 " school = 'SA01'", (long long)(now - 20 * 86400),
		 (long long)(now - 20 * 86400));
	assert_int_equal(tb_sql_exec(db, sql, msg, sizeof(msg)), 0);
	r = run(db, "hoa-binh-2022-2030", "2025", NULL, 1);
	assert_int_equal(r->nstale, 4);
	assert_string_equal(r->stale[0].code, "SA01");
	assert_int_equal(r->stale[0].last_sync, now - 20 * 86400);
	assert_string_equal(r->stale[1].code, "SA09");
	assert_int_equal(r->stale[1].last_sync, 0);
	assert_string_equal(r->stale[3].code, "SC09");
	tb_report_destroy(r);
}

/* An amended event changes every report it is in, a voided one drops
 * out of all of them; the same for snapshots. */
static void test_void_and_amend(void **state)
{
	const char *hb = "hoa-binh-2022-2030";
	size_t amend = nev, gone = nev, snap = nev, which[3];
	struct tb_report *before, *after;
	int64_t gone_parents;
	const int u = 3; /* SA03 */

	(void)state;
	for (size_t i = 0; i < nev; i++) {
		const struct fx *e = &ev[i];

		if (e->unit != u)
			continue;
		if (amend == nev && e->kind == TB_KIND_OUTREACH &&
		    e->date >= day(2025, 1, 1) && e->date <= day(2025, 6, 30))
			amend = i;
		if (gone == nev && e->kind == TB_KIND_ACTION_MONTH &&
		    e->date >= day(2025, 11, 15))
			gone = i;
		if (e->kind == TB_KIND_SNAPSHOT)
			snap = i; /* the latest */
	}
	assert_true(amend < nev && gone < nev && snap < nev);
	before = run(db, hb, "2025-H1", "SA03", 0);
	ev[amend].v[tb_field_index(TB_KIND_OUTREACH, "parents")] += 7;
	ev[amend].revision = 2;
	gone_parents = fx_get(&ev[gone], "parents");
	assert_true(gone_parents > 0);
	ev[gone].voided = 1;
	ev[gone].revision = 2;
	ev[snap].voided = 1;
	ev[snap].revision = 3;
	which[0] = amend;
	which[1] = gone;
	which[2] = snap;
	merge_unit(db, u, which, 3);

	after = run(db, hb, "2025-H1", "SA03", 0);
	assert_true(fabs(tb_report_find(after, "HB-3.1/parents")->v.value -
			 tb_report_find(before, "HB-3.1/parents")->v.value -
			 7) < 1e-9);
	tb_report_destroy(before);
	tb_report_destroy(after);
	before = run(db, hb, "action-month-2025", NULL, 1);
	{
		int64_t par = 0;

		for (int k = 0; k < NUNITS; k++)
			par += am_sum(k, "parents", day(2025, 11, 15),
				      day(2025, 12, 15));
		assert_int_equal(before->am.parents, par);
	}
	tb_report_destroy(before);
	check_all(db);
}

/* ---- outputs ------------------------------------------------------------ */

/* What f wrote, NUL-terminated (free with free). Not inlined: GCC then
 * takes the returned text for a pointer to the local it was stored in. */
static __attribute__((noinline)) char *mem_text(void (*write)(const struct tb_report *, FILE *),
		      const struct tb_report *r, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	write(r, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void write_csv(const struct tb_report *r, FILE *f)
{
	assert_int_equal(tb_report_out_csv(r, f), 0);
}

static void write_json(const struct tb_report *r, FILE *f)
{
	assert_int_equal(tb_report_out_json(r, f), 0);
}

static void write_html(const struct tb_report *r, FILE *f)
{
	assert_int_equal(tb_report_html(r, NULL, f), 0);
}

/* The printed form of a reference number: two decimals, no trailing 0. */
static void ref_num(double v, char *buf, size_t len)
{
	char *e;

	snprintf(buf, len, "%.2f", v + (v >= 0 ? 1e-9 : -1e-9));
	e = buf + strlen(buf);
	while (e > buf && e[-1] == '0')
		*--e = '\0';
	if (e > buf && e[-1] == '.')
		*--e = '\0';
}

/* The CSV is the half-year report: BOM, CRLF, one row per indicator in
 * the plan's order, Vietnamese names byte for byte, the fixture's values. */
static void test_csv(void **state)
{
	struct tb_report *r = run(db, "thanh-oai-2021-2030", "2025-H2", NULL, 0);
	char **fields, msg[128], want[32];
	size_t len, nf, rows = 0;
	char *text = mem_text(write_csv, r, &len);
	struct tb_csv_reader *rd;
	FILE *f;

	(void)state;
	assert_true(len > 3);
	assert_memory_equal(text, "\xEF\xBB\xBF", 3);
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			assert_true(i > 0 && text[i - 1] == '\r');
	assert_non_null(strstr(text, "Kết quả trong kỳ / Value"));
	f = fmemopen(text, len, "rb");
	rd = tb_csv_reader_create(f);
	assert_int_equal(tb_csv_next(rd, &fields, &nf, msg, sizeof(msg)), 1);
	assert_string_equal(fields[3], "Mã / ID");
	while (tb_csv_next(rd, &fields, &nf, msg, sizeof(msg)) == 1) {
		const struct tb_plan_ind *ind = &r->plan->ind[rows];
		struct ref v;

		assert_int_equal(nf, 19);
		assert_string_equal(fields[0], "thanh-oai-2021-2030");
		assert_string_equal(fields[2], "2025-H2");
		assert_string_equal(fields[3], ind->id);
		assert_string_equal(fields[4], ind->name_vi);
		ref_eval(r->plan, ind, NULL, &r->period, &v);
		if (v.has_value)
			ref_num(v.value, want, sizeof(want));
		else
			want[0] = '\0';
		assert_string_equal(fields[7], want);
		rows++;
	}
	assert_int_equal(rows, r->nrows);
	assert_non_null(strstr(text, "Tỷ lệ nữ làm chủ nhiệm các nhiệm vụ khoa "
				     "học và công nghệ"));
	tb_csv_reader_destroy(rd);
	fclose(f);
	free(text);
	tb_report_destroy(r);
}

static void test_json(void **state)
{
	struct tb_report *r = run(db, "hoa-binh-2022-2030", "2025-H2", "DA", 1);
	size_t len;
	char *text = mem_text(write_json, r, &len);
	cJSON *o = cJSON_Parse(text), *inds, *it;
	size_t k = 0;

	(void)state;
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "plan")->valuestring,
			    "hoa-binh-2022-2030");
	assert_string_equal(cJSON_GetObjectItem(o, "unit")->valuestring, "DA");
	assert_string_equal(cJSON_GetObjectItem(o, "unit_name")->valuestring,
			    "Huyện Đà Bắc");
	assert_string_equal(cJSON_GetObjectItem(o, "period")->valuestring,
			    "2025-H2");
	assert_non_null(cJSON_GetObjectItem(o, "generated_at"));
	inds = cJSON_GetObjectItem(o, "indicators");
	assert_int_equal(cJSON_GetArraySize(inds), r->nrows);
	cJSON_ArrayForEach(it, inds) {
		const struct tb_plan_ind *ind = &r->plan->ind[k++];
		cJSON *val = cJSON_GetObjectItem(it, "value");
		cJSON *tg = cJSON_GetObjectItem(it, "target");
		struct ref v;

		ref_eval(r->plan, ind, "DA", &r->period, &v);
		assert_string_equal(cJSON_GetObjectItem(it, "id")->valuestring,
				    ind->id);
		assert_string_equal(cJSON_GetObjectItem(it, "name_vi")->valuestring,
				    ind->name_vi);
		if (v.has_value)
			assert_true(fabs(val->valuedouble - v.value) <= 0.005);
		else
			assert_true(cJSON_IsNull(val));
		assert_int_equal(cJSON_GetObjectItem(it, "units_reported")->valueint,
				 v.reported);
		assert_int_equal(cJSON_GetObjectItem(it, "units_expected")->valueint,
				 v.expected);
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(it,
									"missing")),
				 v.nmissing);
		if (strcmp(ind->id, "HB-3.1/parents") == 0) {
			assert_string_equal(cJSON_GetObjectItem(tg, "cmp")->valuestring,
					    ">=");
			assert_int_equal(cJSON_GetObjectItem(tg, "value")->valueint,
					 1500);
			assert_int_equal(cJSON_GetObjectItem(tg, "year")->valueint,
					 2025);
			assert_true(fabs(cJSON_GetObjectItem(it, "cumulative")
						 ->valuedouble - v.cum) < 1e-9);
		}
		if (ind->f.type == TB_F_NOT_COLLECTED) {
			assert_string_equal(cJSON_GetObjectItem(it, "status")
						    ->valuestring,
					    "not_collected");
			assert_non_null(cJSON_GetObjectItem(it, "reason"));
		}
	}
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "districts")),
			 1);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o,
								 "action_month"),
					     "year")->valueint,
			 2025);
	cJSON_Delete(o);
	free(text);
	tb_report_destroy(r);
}

/* The value in attribute `attr` of the element whose data-id is id. */
static int html_attr(const char *html, const char *id, const char *attr,
		     char *out, size_t outlen)
{
	char key[128];
	const char *p, *q, *end;

	snprintf(key, sizeof(key), "data-id=\"%s\"", id);
	p = strstr(html, key);
	if (!p)
		return -1;
	end = strchr(p, '>');
	snprintf(key, sizeof(key), "%s=\"", attr);
	q = strstr(p, key);
	if (!q || q > end)
		return -1;
	q += strlen(key);
	end = strchr(q, '"');
	snprintf(out, outlen, "%.*s", (int)(end - q), q);
	return 0;
}

static void test_html(void **state)
{
	struct tb_report *r = run(db, "hoa-binh-2022-2030", "2025", NULL, 1);
	size_t len;
	char *text = mem_text(write_html, r, &len), got[64], want[64];

	(void)state;
	assert_non_null(strstr(text, "<!DOCTYPE html>"));
	assert_non_null(strstr(text, "name=\"viewport\""));
	assert_null(strstr(text, "<script"));
	assert_null(strstr(text, "http://"));
	assert_null(strstr(text, "https://"));
	assert_null(strstr(text, "url("));
	assert_null(strstr(text, "@import"));
	for (size_t k = 0; k < r->nrows; k++) {
		struct ref v;

		ref_eval(r->plan, r->rows[k].ind, NULL, &r->period, &v);
		assert_int_equal(html_attr(text, r->rows[k].ind->id,
					   "data-value", got, sizeof(got)), 0);
		if (v.has_value)
			ref_num(v.value, want, sizeof(want));
		else
			want[0] = '\0';
		assert_string_equal(got, want);
	}
	assert_non_null(strstr(text, "id=\"stale\""));
	assert_non_null(strstr(text, "id=\"action-month\""));
	assert_non_null(strstr(text, "data-district=\"DC\""));
	assert_non_null(strstr(text, "Thành phố Hòa Bình"));
	free(text);
	tb_report_destroy(r);
}

static void answer(const char *method, const char *path, const char *query[5],
		   const char *bearer, const char *cookie, const char *body,
		   struct tb_report_resp *a)
{
	struct tb_report_req q;

	memset(&q, 0, sizeof(q));
	q.method = method;
	q.path = path;
	if (query) {
		q.plan = query[0];
		q.unit = query[1];
		q.period = query[2];
		q.format = query[3];
		q.detail = query[4];
	}
	q.bearer = bearer;
	q.cookie = cookie;
	q.body = body;
	q.body_len = body ? strlen(body) : 0;
	tb_report_http_answer(db, plans, &q, a);
}

/* 1 if the answer's body holds text. */
static int body_has(const struct tb_report_resp *a, const char *text)
{
	char *b = tb_malloc(a->len + 1);
	int found;

	assert_non_null(b);
	memcpy(b, a->body, a->len);
	b[a->len] = '\0';
	found = strstr(b, text) != NULL;
	tb_free(b);
	return found;
}

/* The dashboard answers a period that is not one, or a unit by a name,
 * in the reader's words, and picks the language as the browser asks. */
static void dashboard_words(const char *token)
{
	const char *bad[5] = {"hoa-binh-2022-2030", NULL, "2025-H3", NULL, NULL};
	const char *name[5] = {"hoa-binh-2022-2030", "lac son", "2025-H2", NULL,
			       NULL};
	const char *none[5] = {"hoa-binh-2022-2030", "Mường Chiềng", "2025-H2",
			       NULL, NULL};
	struct tb_report_resp a;

	answer("GET", "/", bad, NULL, token, NULL, &a);
	assert_int_equal(a.status, 400);
	assert_non_null(a.body);
	assert_true(body_has(&a, "Kỳ &quot;2025-H3&quot; không đúng dạng"));
	assert_false(body_has(&a, "period:"));
	tb_free(a.body);
	answer("GET", "/", name, NULL, token, NULL, &a);
	assert_int_equal(a.status, 303);
	assert_string_equal(a.location,
			    "/?plan=hoa-binh-2022-2030&period=2025-H2&unit=DB");
	tb_free(a.body);
	answer("GET", "/", none, NULL, token, NULL, &a);
	assert_int_equal(a.status, 200);
	assert_true(body_has(&a, "Không có đơn vị nào"));
	tb_free(a.body);

	assert_false(tb_report_http_wants_en(NULL, NULL));
	assert_false(tb_report_http_wants_en(NULL, "vi-VN,vi;q=0.9,en;q=0.8"));
	assert_true(tb_report_http_wants_en(NULL, "en-US,en;q=0.9"));
	assert_true(tb_report_http_wants_en(NULL, "fr, en;q=0.7, vi;q=0.5"));
	assert_false(tb_report_http_wants_en(NULL, "en;q=0.5, vi"));
	assert_false(tb_report_http_wants_en(NULL, "fr"));
	assert_false(tb_report_http_wants_en("vi", "en"));
	assert_true(tb_report_http_wants_en("en", "vi"));
}

static void test_http(void **state)
{
	const char *hb[5] = {"hoa-binh-2022-2030", "DB", "2025-H2", NULL, NULL};
	const char *csv[5] = {"thanh-oai-2021-2030", NULL, "2025-H1", "csv",
			      NULL};
	const char *bad[5] = {"hoa-binh-2022-2030", NULL, "2025-H9", NULL, NULL};
	const char *noplan[5] = {"nope", NULL, "2025", NULL, NULL};
	char token[TB_TOKEN_LEN + 1], form[256], *body;
	struct tb_report_resp a;
	int64_t id;
	cJSON *o;

	(void)state;
	assert_int_equal(tb_auth_admin_new(db, token, &id), 0);
	answer("GET", "/", NULL, NULL, NULL, NULL, &a);
	assert_int_equal(a.status, 401);
	assert_non_null(a.body);
	assert_true(a.html);
	assert_non_null(strstr(a.body, "name=\"token\""));
	tb_free(a.body);

	answer("POST", "/signin", NULL, NULL, NULL,
	       "token=0000000000000000000000000000000000000000000000000000000000000000",
	       &a);
	assert_int_equal(a.status, 401);
	assert_string_equal(a.set_cookie, "");
	tb_free(a.body);

	snprintf(form, sizeof(form), "token=%s&next=%%2F%%3Fplan%%3Dthanh-oai-2021-2030",
		 token);
	answer("POST", "/signin", NULL, NULL, NULL, form, &a);
	assert_int_equal(a.status, 303);
	assert_string_equal(a.location, "/?plan=thanh-oai-2021-2030");
	assert_non_null(strstr(a.set_cookie, token));
	assert_non_null(strstr(a.set_cookie, "HttpOnly"));
	assert_non_null(strstr(a.set_cookie, "Secure"));
	tb_free(a.body);
	snprintf(form, sizeof(form), "token=%s&next=%%2F%%2Fevil.example", token);
	answer("POST", "/signin", NULL, NULL, NULL, form, &a);
	assert_string_equal(a.location, "/"); /* never off this server */
	tb_free(a.body);

	answer("GET", "/", hb, NULL, token, NULL, &a);
	assert_int_equal(a.status, 200);
	assert_non_null(strstr(a.body, "data-id=\"HB-3.1/parents\""));
	assert_non_null(strstr(a.body, "<select name=\"plan\">"));
	tb_free(a.body);

	answer("GET", "/v1/report", hb, NULL, NULL, NULL, &a);
	assert_int_equal(a.status, 401);
	assert_non_null(a.error);
	tb_free(a.body);
	answer("GET", "/v1/report", hb, token, NULL, NULL, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.ctype, "application/json");
	body = tb_malloc(a.len + 1);
	memcpy(body, a.body, a.len);
	body[a.len] = '\0';
	o = cJSON_Parse(body);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "unit")->valuestring, "DB");
	assert_null(cJSON_GetObjectItem(o, "districts")); /* no detail asked */
	cJSON_Delete(o);
	tb_free(body);
	tb_free(a.body);

	answer("GET", "/v1/report", csv, token, NULL, NULL, &a);
	assert_int_equal(a.status, 200);
	assert_memory_equal(a.body, "\xEF\xBB\xBF", 3);
	tb_free(a.body);
	answer("GET", "/v1/report", bad, token, NULL, NULL, &a);
	assert_int_equal(a.status, 400);
	assert_non_null(strstr(a.message, "period"));
	tb_free(a.body);
	answer("GET", "/v1/report", noplan, token, NULL, NULL, &a);
	assert_int_equal(a.status, 404);
	tb_free(a.body);
	answer("DELETE", "/v1/report", hb, token, NULL, NULL, &a);
	assert_int_equal(a.status, 405);
	tb_free(a.body);
	answer("POST", "/signout", NULL, NULL, token, NULL, &a);
	assert_int_equal(a.status, 303);
	assert_non_null(strstr(a.set_cookie, "Max-Age=0"));
	tb_free(a.body);
	dashboard_words(token);
}

/* Runs the command on argv as main.c does. */
static int report_cmd(int argc, char **argv)
{
	struct tb_config *cfg = NULL;
	char msg[512] = "";
	int rc;

	rc = tb_settings_parse(argc, argv, tb_report_cli_opts,
			       TB_REPORT_CLI_NOPTS, &cfg, msg, sizeof(msg));
	if (rc == TB_OK)
		rc = tb_report_cli_run(cfg, msg, sizeof(msg));
	tb_config_destroy(cfg);
	if (rc < 0)
		printf("report: %s\n", msg);
	return rc;
}

/* `report` as a command: CSV to a file; a bad plan file stops it. */
static void test_cli(void **state)
{
	char dbpath[600], out[128], bad[128], plan[160];
	char *argv[16];
	FILE *f;
	char head[4] = "";

	(void)state;
	assert_int_equal(helper_pg_db_path(dbpath, sizeof(dbpath), tmpdir,
					   "fixture.db"), 0);
	snprintf(out, sizeof(out), "%s/half-year.csv", tmpdir);
	argv[0] = "--plan";
	argv[1] = "hoa-binh-2022-2030";
	argv[2] = "--period";
	argv[3] = "2025-H1";
	argv[4] = "--format";
	argv[5] = "csv";
	argv[6] = "--db";
	argv[7] = dbpath;
	argv[8] = "--plans-dir"; /* the server setting plans_dir */
	argv[9] = TB_SOURCE_DIR "/plans";
	argv[10] = "--output";
	argv[11] = out;
	assert_int_equal(report_cmd(12, argv), 0);
	f = fopen(out, "rb");
	assert_non_null(f);
	assert_int_equal(fread(head, 1, 3, f), 3);
	fclose(f);
	assert_memory_equal(head, "\xEF\xBB\xBF", 3);

	snprintf(bad, sizeof(bad), "%s/plans-bad", tmpdir);
	assert_int_equal(mkdir(bad, 0700), 0);
	snprintf(plan, sizeof(plan), "%s/x.json", bad);
	f = fopen(plan, "wb");
	assert_non_null(f);
	fputs("{\"format\": 1, \"id\": \"x\", \"name_vi\": 7}", f);
	fclose(f);
	argv[9] = bad;
	assert_int_equal(report_cmd(12, argv), TB_ECONFIG);
	argv[9] = TB_SOURCE_DIR "/plans";
	argv[1] = "no-such-plan";
	assert_int_equal(report_cmd(12, argv), TB_ENOTFOUND);
}

/* ---- the dashboard in a browser ------------------------------------------ */

static const char *chromium_path(void)
{
	static const char *const paths[] = {"/usr/bin/chromium",
					    "/usr/bin/chromium-browser"};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* base64 SHA-256 of the certificate's public key, for Chromium's
 * --ignore-certificate-errors-spki-list: it trusts exactly the key the
 * test CA certified for this server, and nothing else. */
static void spki_hash(const char *cert, char *out, size_t len)
{
	char cmd[1024];
	struct helper_proc_result r;
	const char *argv[] = {"/bin/sh", "-c", cmd, NULL};

	snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s' -pubkey -noout | "
		 "openssl pkey -pubin -outform der | openssl dgst -sha256 "
		 "-binary | base64", cert);
	assert_int_equal(helper_proc_run(argv, NULL, &r), 0);
	assert_true(helper_proc_exited_with(&r, 0));
	snprintf(out, len, "%.*s", (int)strcspn(r.out, "\n"), r.out);
	assert_int_equal(strlen(out), 44);
	helper_proc_free(&r);
}

/* Runs headless Chromium on url with one more flag; its stdout. */
static char *chromium(const char *dir, const char *spki, const char *flag,
		      const char *url)
{
	char udd[600], spk[128], home[600];
	const char *env[] = {home, NULL};
	const char *argv[] = {chromium_path(), "--headless", "--no-sandbox",
			      "--disable-gpu", "--disable-quic", "--no-first-run",
			      "--disable-background-networking",
			      "--disable-component-update", "--disable-sync",
			      "--lang=vi", "--accept-lang=vi-VN,vi",
			      udd, spk, "--window-size=412,2400", flag, url,
			      NULL};
	struct helper_proc_opts o;
	struct helper_proc_result r;
	char *out;

	snprintf(udd, sizeof(udd), "--user-data-dir=%s/chromium-XXXXXX", dir);
	assert_non_null(mkdtemp(udd + strlen("--user-data-dir=")));
	snprintf(home, sizeof(home), "HOME=%s",
		 udd + strlen("--user-data-dir="));
	snprintf(spk, sizeof(spk), "--ignore-certificate-errors-spki-list=%s",
		 spki);
	memset(&o, 0, sizeof(o));
	o.env = env;
	o.timeout_ms = 45000;
	assert_int_equal(helper_proc_run(argv, &o, &r), 0);
	if (!helper_proc_exited_with(&r, 0))
		fail_msg("chromium failed");
	out = r.out;
	r.out = NULL;
	helper_proc_free(&r);
	return out;
}

/* Attribute attr of the tag that starts at tag (up to its '>'); -1 if
 * the tag has none. */
static int tag_attr(const char *tag, const char *attr, char *out, size_t len)
{
	char key[64];
	const char *end = strchr(tag, '>'), *q, *e;

	snprintf(key, sizeof(key), " %s=\"", attr);
	q = strstr(tag, key);
	if (!end || !q || q > end)
		return -1;
	q += strlen(key);
	e = strchr(q, '"');
	snprintf(out, len, "%.*s", (int)(e - q), q);
	return 0;
}

/* A JSON number as the page's data-* attributes write it; "" for null
 * or absent. */
static void json_num(const cJSON *o, const char *key, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	if (!v || !cJSON_IsNumber(v))
		buf[0] = '\0';
	else
		ref_num(v->valuedouble, buf, len);
}

/* The same number as a Vietnamese reader writes it: 68.000, 71,43; "—"
 * for null or absent (what the page shows). */
static void json_vi(const cJSON *o, const char *key, char *buf, size_t len)
{
	char raw[64], *dot;
	size_t nint, n = 0, i = 0;

	json_num(o, key, raw, sizeof(raw));
	if (!raw[0]) {
		snprintf(buf, len, "—");
		return;
	}
	dot = strchr(raw, '.');
	if (raw[0] == '-')
		buf[n++] = raw[i++];
	nint = dot ? (size_t)(dot - raw) : strlen(raw);
	for (; i < nint; i++) {
		if (i > (raw[0] == '-') && (nint - i) % 3 == 0)
			buf[n++] = '.';
		buf[n++] = raw[i];
	}
	buf[n] = '\0';
	if (dot)
		snprintf(buf + n, len - n, ",%s", dot + 1);
}

/* Every attribute attrs[i] of the tag at tag equals the JSON number
 * keys[i] of o. */
static void same_attrs(const char *what, const char *tag, const cJSON *o,
		       const char *const *attrs, const char *const *keys,
		       size_t n)
{
	char got[64], want[64];

	for (size_t i = 0; i < n; i++) {
		json_num(o, keys[i], want, sizeof(want));
		if (tag_attr(tag, attrs[i], got, sizeof(got)) ||
		    strcmp(got, want))
			fail_msg("%s %s: page \"%s\", JSON %s \"%s\"", what,
				 attrs[i], got, keys[i], want);
	}
}

/* The start of the first tag after from that holds every needle (as
 * written, e.g. "data-district=\"DA\" data-expected"), before `end` if
 * given; fails naming it when there is none. */
static const char *tag_with(const char *from, const char *end,
			    const char *needle)
{
	const char *p = strstr(from, needle), *lt;

	if (!p || (end && p > end))
		fail_msg("the page has no %s", needle);
	for (lt = p; lt > from && *lt != '<'; lt--)
		;
	return lt;
}

/* The text of the cells of the table row at row, tags stripped. */
static size_t row_cells(const char *row, char cells[][64], size_t max)
{
	const char *end = strstr(row, "</tr>"), *p = row;
	size_t n = 0;

	while (n < max && (p = strstr(p, "<td")) && p < end) {
		size_t o = 0;
		int in_tag = 0;

		for (p = strchr(p, '>') + 1; strncmp(p, "</td>", 5); p++) {
			if (*p == '<')
				in_tag = 1;
			else if (*p == '>')
				in_tag = 0;
			else if (!in_tag && o < 63)
				cells[n][o++] = *p;
		}
		cells[n++][o] = '\0';
	}
	return n;
}

static const char *const ind_attrs[] = {"data-value", "data-cumulative",
					"data-progress", "data-reported",
					"data-expected"};
static const char *const ind_keys[] = {"value", "cumulative", "progress_pct",
				       "units_reported", "units_expected"};

/* The cards: every number in data-* and as the reader sees it; the trend
 * chart's points and the districts' bars. */
static void check_cards(const char *dom, const cJSON *o)
{
	const cJSON *it, *dists = cJSON_GetObjectItem(o, "districts");
	char key[160], want[64], got[64];

	int k = -1;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "indicators")) {
		const char *id = cJSON_GetObjectItem(it, "id")->valuestring;
		const char *card, *end, *p;
		const cJSON *pt;

		k++;
		snprintf(key, sizeof(key), "class=\"ind %s\" data-id=\"%s\"",
			 cJSON_GetObjectItem(it, "status")->valuestring, id);
		card = tag_with(dom, NULL, key);
		end = strstr(card, "</article>");
		same_attrs(id, card, it, ind_attrs, ind_keys, 5);
		json_vi(it, "value", want, sizeof(want));
		p = strstr(card, "<b class=\"value\">");
		assert_true(p && p < end);
		snprintf(got, sizeof(got), "%.*s",
			 (int)strcspn(p + 17, "<"), p + 17);
		if (strcmp(got, want))
			fail_msg("%s shows %s, JSON %s", id, got, want);
		p = card; /* the trend: a point per half-year */
		cJSON_ArrayForEach(pt, cJSON_GetObjectItem(it, "series")) {
			static const char *const a[] = {"data-value",
							"data-target"};
			static const char *const kk[] = {"value", "target"};
			char at[32];

			snprintf(at, sizeof(at), "data-at=\"%s\"",
				 cJSON_GetObjectItem(pt, "at")->valuestring);
			p = tag_with(p, end, at);
			same_attrs(id, p, pt, a, kk, 2);
			p++;
		}
		if (!cJSON_IsArray(dists) || cJSON_GetArraySize(dists) < 2 ||
		    !strcmp(cJSON_GetObjectItem(it, "formula")->valuestring,
			    "not_collected"))
			continue;
		cJSON_ArrayForEach(pt, dists) { /* the bars */
			const cJSON *di = cJSON_GetArrayItem(
				cJSON_GetObjectItem(pt, "indicators"), k);
			const char *bar;

			snprintf(key, sizeof(key), "data-district=\"%s\"",
				 cJSON_GetObjectItem(pt, "code")->valuestring);
			bar = tag_with(card, end, key);
			json_num(di, cJSON_GetObjectItem(di, "cumulative")
				 ? "cumulative" : "value", want, sizeof(want));
			assert_int_equal(tag_attr(bar, "data-value", got,
						  sizeof(got)), 0);
			if (strcmp(got, want))
				fail_msg("%s bar %s: %s, JSON %s", id, key, got,
					 want);
		}
	}
}

/* The district tables: data-* and every cell a reader sees. */
static void check_districts(const char *dom, const cJSON *o)
{
	const cJSON *d, *it;

	cJSON_ArrayForEach(d, cJSON_GetObjectItem(o, "districts")) {
		const char *code = cJSON_GetObjectItem(d, "code")->valuestring;
		char key[128], cells[6][64], want[64], pct[72];
		const char *table, *end;

		snprintf(key, sizeof(key), "<table class=\"rf\" data-district="
			 "\"%s\"", code);
		table = tag_with(dom, NULL, key);
		end = strstr(table, "</table>");
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(d, "indicators")) {
			const char *id = cJSON_GetObjectItem(it, "id")->valuestring;
			const char *row;

			snprintf(key, sizeof(key), "data-id=\"%s\"", id);
			row = tag_with(table, end, key);
			same_attrs(code, row, it, ind_attrs, ind_keys, 5);
			assert_int_equal(row_cells(row, cells, 6), 6);
			json_vi(it, "value", want, sizeof(want));
			assert_string_equal(cells[1], want);
			json_vi(it, "cumulative", want, sizeof(want));
			assert_string_equal(cells[2], strcmp(want, "—") ? want
								    : "");
			json_vi(it, "progress_pct", want, sizeof(want));
			snprintf(pct, sizeof(pct), "%s%%", want);
			if (strcmp(cells[3], strcmp(want, "—") ? pct : ""))
				fail_msg("%s %s progress: page \"%s\", JSON "
					 "\"%s\"", code, id, cells[3], pct);
			snprintf(want, sizeof(want), "%d/%d",
				 cJSON_GetObjectItem(it, "units_reported")->valueint,
				 cJSON_GetObjectItem(it, "units_expected")->valueint);
			assert_string_equal(cells[5], want);
		}
	}
}

static const char *const compl_attrs[] = {
	"data-expected", "data-reported", "data-on-time", "data-late",
	"data-missing", "data-closed", "data-reported-pct", "data-on-time-pct"};
static const char *const compl_keys[] = {
	"expected", "reported", "on_time", "late", "missing", "closed",
	"reported_pct", "on_time_pct"};
static const char *const am_attrs[] = {
	"data-activities", "data-parents", "data-students",
	"data-teachers-staff", "data-officials", "data-units-active",
	"data-units"};
static const char *const am_keys[] = {
	"activities", "parents", "students", "teachers_staff", "officials",
	"units_active", "units"};

/* Completeness, the Action Month and the schools' states, in all and per
 * district. */
static void check_sections(const char *dom, const cJSON *o)
{
	const cJSON *c = cJSON_GetObjectItem(o, "completeness"), *d, *u;
	char key[128], got[32];

	same_attrs("completeness", tag_with(dom, NULL,
					    "<section id=\"completeness\""),
		   c, compl_attrs, compl_keys, 8);
	same_attrs("action month", tag_with(dom, NULL,
					    "<section id=\"action-month\""),
		   cJSON_GetObjectItem(o, "action_month"), am_attrs, am_keys, 7);
	if (cJSON_GetArraySize(cJSON_GetObjectItem(o, "districts")) > 1)
		cJSON_ArrayForEach(d, cJSON_GetObjectItem(o, "districts")) {
			const char *code =
				cJSON_GetObjectItem(d, "code")->valuestring;

			snprintf(key, sizeof(key), "<tr data-district=\"%s\" "
				 "data-expected", code);
			same_attrs(code, tag_with(dom, NULL, key),
				   cJSON_GetObjectItem(d, "completeness"),
				   compl_attrs, compl_keys, 8);
			snprintf(key, sizeof(key), "<tr data-district=\"%s\" "
				 "data-activities", code);
			same_attrs(code, tag_with(dom, NULL, key),
				   cJSON_GetObjectItem(d, "action_month"),
				   am_attrs, am_keys, 7);
		}
	if (!strstr(dom, "<section id=\"schools\""))
		return;
	cJSON_ArrayForEach(u, cJSON_GetObjectItem(c, "units")) {
		const char *row;

		snprintf(key, sizeof(key), "data-code=\"%s\" data-state",
			 cJSON_GetObjectItem(u, "code")->valuestring);
		row = tag_with(strstr(dom, "<section id=\"schools\""), NULL,
			       key);
		assert_int_equal(tag_attr(row, "data-state", got, sizeof(got)),
				 0);
		assert_string_equal(got,
				    cJSON_GetObjectItem(u, "state")->valuestring);
		assert_int_equal(tag_attr(row, "data-events", got, sizeof(got)),
				 0);
		assert_int_equal(strtol(got, NULL, 10),
				 cJSON_GetObjectItem(u, "events")->valueint);
	}
}

/* A real server with the fixture; headless Chromium signs in through the
 * form, and every number of the province, a district and a school page
 * (cards, charts, district tables, completeness, schools, Action Month)
 * equals the JSON report's; a name typed without diacritics finds its
 * page; English where the browser asks; phone-sized screenshots are
 * written to the build directory. */
struct dash {
	struct helper_server srv;
	char token[TB_TOKEN_LEN + 1], spki[64];
};

/* The DOM Chromium renders for the dashboard at query, signed in; with
 * flag (NULL: --dump-dom). */
static char *dash_page(struct dash *x, const char *query, const char *flag)
{
	char page_path[700], url[800];
	FILE *f;

	snprintf(page_path, sizeof(page_path), "%s/signin.html", x->srv.dir);
	f = fopen(page_path, "wb");
	assert_non_null(f);
	fprintf(f, "<!DOCTYPE html><html><body><form method=\"post\" "
		   "action=\"%s/signin\"><input name=\"token\" value=\"%s\">"
		   "<input name=\"next\" value=\"/?%s\"></form><script>"
		   "document.forms[0].submit()</script></body></html>\n",
		x->srv.url, x->token, query);
	assert_int_equal(fclose(f), 0);
	snprintf(url, sizeof(url), "file://%s", page_path);
	return chromium(x->srv.dir, x->spki, flag ? flag : "--dump-dom", url);
}

/* The JSON report for query, parsed. */
static cJSON *dash_json(struct dash *x, const char *query)
{
	struct helper_server_resp resp;
	char url[400];
	cJSON *o;

	snprintf(url, sizeof(url), "/v1/report?%s&detail=1", query);
	assert_int_equal(helper_server_request(&x->srv, "GET", url, x->token,
					       NULL, NULL, NULL, 0, 0, &resp),
			 0);
	assert_int_equal(resp.status, 200);
	o = cJSON_Parse(resp.body);
	assert_non_null(o);
	helper_server_resp_free(&resp);
	return o;
}

static void dash_check(struct dash *x, const char *query, const char *png)
{
	char *dom = dash_page(x, query, NULL), flag[700];
	cJSON *o = dash_json(x, query);

	if (!strstr(dom, "id=\"indicators\""))
		fail_msg("the dashboard did not render:\n%.2000s", dom);
	check_cards(dom, o);
	if (cJSON_GetArraySize(cJSON_GetObjectItem(o, "districts")) > 1)
		check_districts(dom, o);
	check_sections(dom, o);
	if (cJSON_GetArraySize(cJSON_GetObjectItem(o, "districts")) > 1) {
		char want[64];

		snprintf(want, sizeof(want), "(<span class=\"count\">%d</span>)",
			 cJSON_GetArraySize(cJSON_GetObjectItem(
				 cJSON_GetObjectItem(o, "stale"), "units")));
		assert_non_null(strstr(dom, want));
	}
	free(dom);
	cJSON_Delete(o);
	snprintf(flag, sizeof(flag), "--screenshot=%s/%s", TB_BUILD_DIR, png);
	free(dash_page(x, query, flag));
	snprintf(flag, sizeof(flag), "%s/%s", TB_BUILD_DIR, png);
	{
		FILE *f = fopen(flag, "rb");
		unsigned char magic[8];

		assert_non_null(f);
		assert_int_equal(fread(magic, 1, 8, f), 8);
		assert_memory_equal(magic, "\x89PNG\r\n\x1a\n", 8);
		assert_int_equal(fseek(f, 0, SEEK_END), 0);
		assert_true(ftell(f) > 20000); /* a page, not a blank */
		fclose(f);
	}
	printf("dashboard screenshot: %s\n", flag);
}

static void test_dashboard_chromium(void **state)
{
	struct dash x;
	const char *const extra[] = {"--plans-dir", TB_SOURCE_DIR "/plans",
				     NULL};
	const char *hb = "plan=hoa-binh-2022-2030&period=2025-H2";
	static const struct {
		const char *query, *has[2], *not;
	} pages[] = {
		/* a district typed by name, without diacritics: its page */
		{"unit=lac+son", {"data-unit=\"DB\"", "Huyện Lạc Sơn"}, NULL},
		/* a school's page leads back up to district and province */
		{"unit=SB04", {"unit=DB\">Huyện Lạc Sơn</a>", "unit=PV\">"},
		 NULL},
		/* several hits: a list to choose from */
		{"unit=sc0", {"<ul id=\"hits\">", "data-code=\"SC05\""}, NULL},
		/* English where the browser asks for it */
		{"lang=en", {"<html lang=\"en\"", "Completeness and timeliness"},
		 "Tính đầy đủ"},
	};
	char q[200], *dom;
	struct tb_sql *d;
	int64_t id;

	(void)state;
	if (!chromium_path()) {
		if (getenv("CI"))
			fail_msg("chromium is not installed (scripts/deps.sh "
				 "installs it)");
		printf("SKIPPED: chromium is not installed (scripts/deps.sh "
		       "installs it): the dashboard was not checked in a "
		       "browser\n");
		skip();
	}
	assert_int_equal(helper_server_setup(&x.srv), 0);
	d = other_db(x.srv.db, 1);
	assert_int_equal(tb_auth_admin_new(d, x.token, &id), 0);
	tb_sql_close(d);
	if (helper_server_start(&x.srv, extra) != 0)
		fail_msg("server did not start");
	spki_hash(x.srv.cert, x.spki, sizeof(x.spki));

	dash_check(&x, hb, "dashboard.png");
	snprintf(q, sizeof(q), "%s&unit=DA", hb);
	dash_check(&x, q, "dashboard-district.png");
	snprintf(q, sizeof(q), "%s&unit=SA03", hb);
	dash_check(&x, q, "dashboard-school.png");
	snprintf(q, sizeof(q), "plan=thanh-oai-2021-2030&period="
		 "cumulative:2025-12-31");
	dash_check(&x, q, "dashboard-thanh-oai.png");

	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		snprintf(q, sizeof(q), "%s&%s", hb, pages[i].query);
		dom = dash_page(&x, q, NULL);
		for (int k = 0; k < 2; k++)
			if (!strstr(dom, pages[i].has[k]))
				fail_msg("%s: the page has no %s", q,
					 pages[i].has[k]);
		if (pages[i].not && strstr(dom, pages[i].not))
			fail_msg("%s: the page has %s", q, pages[i].not);
		free(dom);
	}
	helper_server_teardown(&x.srv);
}

/* ---- completeness, trends, search --------------------------------------- */

/* The last second of day d in UTC+7, and a time in the middle of it. */
static int64_t vn_day_end(int32_t d)
{
	return ((int64_t)d + 1) * 86400 - 7 * 3600 - 1;
}

/* Expected, reported, on time: schools SA00-SA04 sent their 2025-H2
 * data by 2026-01-10 (10 days after the half-year), SB00-SB04 on
 * 2026-01-11 (late), the others now; SC03 is closed from 2025-07-01 and
 * reopened from 2026-01-01; SC09 never syncs. Every figure is counted
 * here from the fixture and these facts. */
static void test_completeness(void **state)
{
	const char *hb = "hoa-binh-2022-2030";
	int32_t deadline = day(2026, 1, 10);
	char sql[512], msg[256] = "";
	struct tb_sql *d = other_db("compl.db", 1);
	struct tb_report *r;
	struct tb_report_compl want = {0}, wd[NDIST];
	int64_t now = tb_time_now();

	(void)state;
	memset(wd, 0, sizeof(wd));
	snprintf(sql, sizeof(sql),
		 "UPDATE events SET received_at = %lld WHERE school BETWEEN"
		 " 'SA00' AND 'SA04';"
		 "UPDATE events SET received_at = %lld WHERE school BETWEEN"
		 " 'SB00' AND 'SB04';"
		 "INSERT INTO unit_closures(unit, closed_from, reopened_from)"
		 " VALUES ('SC03', '2025-07-01', '2026-01-01');",
		 (long long)vn_day_end(deadline),
		 (long long)vn_day_end(deadline) + 1);
	assert_int_equal(tb_sql_exec(d, sql, msg, sizeof(msg)), 0);
	/* the roll-ups keep first arrivals from the events as they came; a
	   refill takes these as when they came */
	assert_int_equal(tb_rollup_rebuild(d, msg, sizeof(msg)), 0);
	{
		struct tb_report_opts o = {NULL, 0, 1, 0, 0, 0};

		assert_int_equal(tb_report_run(d, tb_plan_set_find(plans, hb),
					       "2025-H2", &o, &r, msg,
					       sizeof(msg)), 0);
	}
	assert_int_equal(r->deadline, deadline);
	assert_int_equal(r->ontime_days, 10);
	assert_true(r->due); /* it is later than January 2026 */
	assert_int_equal(r->nschools, NUNITS);
	for (int u = 0; u < NUNITS; u++) {
		const struct tb_report_school *sc = &r->schools[u];
		struct tb_report_compl *c[2] = {&want, &wd[u / PER]};
		int reported = any_event(u, day(2025, 7, 1), day(2025, 12, 31));
		enum tb_report_unit_state st =
			u == 2 * PER + 3 ? TB_US_CLOSED
			: !reported      ? TB_US_MISSING
			: u < 5          ? TB_US_ON_TIME
					 : TB_US_LATE;

		assert_string_equal(sc->code, codes[u]);
		if (sc->state != st)
			fail_msg("%s: state %s, want %s", codes[u],
				 tb_report_unit_state_name(sc->state),
				 tb_report_unit_state_name(st));
		if (st == TB_US_ON_TIME || st == TB_US_LATE)
			assert_true(sc->first_received > 0 &&
				    sc->first_received <= now);
		for (int j = 0; j < 2; j++) {
			c[j]->expected += st != TB_US_CLOSED;
			c[j]->reported += reported && st != TB_US_CLOSED;
			c[j]->on_time += st == TB_US_ON_TIME;
			c[j]->late += st == TB_US_LATE;
			c[j]->missing += st == TB_US_MISSING;
			c[j]->closed += st == TB_US_CLOSED;
		}
	}
	for (int j = -1; j < NDIST; j++) {
		const struct tb_report_compl *g =
			j < 0 ? &r->compl : &r->districts[j].compl;
		const struct tb_report_compl *w = j < 0 ? &want : &wd[j];

		assert_int_equal(g->expected, w->expected);
		assert_int_equal(g->reported, w->reported);
		assert_int_equal(g->on_time, w->on_time);
		assert_int_equal(g->late, w->late);
		assert_int_equal(g->missing, w->missing);
		assert_int_equal(g->closed, w->closed);
		assert_true(fabs(g->reported_pct - 100.0 * (double)w->reported /
						     (double)w->expected) < 1e-9);
		assert_true(fabs(g->on_time_pct - 100.0 * (double)w->on_time /
						    (double)w->expected) < 1e-9);
	}
	/* the closed school is not expected by the indicators either, but
	   what it did before closing still counts from the plan's start */
	{
		const struct tb_report_row *w = tb_report_find(r,
							       "HB-3.1/parents");
		struct tb_period c;
		struct ref all;

		assert_int_equal(w->v.expected, NUNITS - 1);
		assert_int_equal(tb_period_parse("cumulative:2025-12-31", &c), 0);
		c.from = r->plan->start;
		ref_eval(r->plan, w->ind, NULL, &c, &all);
		assert_true(fabs(w->v.cumulative - all.cum) < 1e-9);
	}
	tb_report_destroy(r);

	/* a correction after the deadline does not make an on-time school
	   late: the first arrival stays (every H2 event of SA00 amended now,
	   as a new revision's merge rewrites the row) */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO event_history(id, revision, kind, date, voided,"
		 " void_reason, device, seq, recorded_at, received_at,"
		 " content_hash, fields) SELECT h.id, h.revision + 1, h.kind,"
		 " h.date, h.voided, h.void_reason, h.device, h.seq,"
		 " h.recorded_at, %lld, h.content_hash, h.fields FROM"
		 TB_EVROW_FROM " WHERE e.school = 'SA00' AND e.date BETWEEN"
		 " '2025-07-01' AND '2025-12-31'", (long long)now);
	assert_int_equal(tb_sql_exec(d, sql, msg, sizeof(msg)), 0);
	snprintf(sql, sizeof(sql),
		 "UPDATE events SET revision = revision + 1, received_at = %lld"
		 " WHERE school = 'SA00' AND date BETWEEN '2025-07-01' AND"
		 " '2025-12-31'", (long long)now);
	assert_int_equal(tb_sql_exec(d, sql, msg, sizeof(msg)), 0);
	assert_true(tb_sql_changes(d) > 0);
	r = run(d, hb, "2025-H2", "SA00", 1);
	assert_int_equal(r->schools[0].state, TB_US_ON_TIME);
	assert_int_equal(r->schools[0].first_received, vn_day_end(deadline));
	tb_report_destroy(r);

	/* reopened: expected again in 2026; on 1 July 2026 2026-H1 is not
	   due yet (until 10 July), so the schools that sent nothing are
	   pending, not missing */
	{
		struct tb_report_opts o = {NULL, vn_day_end(day(2026, 7, 1)), 1,
					   0, 0, 0};

		assert_int_equal(tb_report_run(d, tb_plan_set_find(plans, hb),
					       "2026-H1", &o, &r, msg,
					       sizeof(msg)), 0);
	}
	assert_false(r->due);
	assert_int_equal(r->schools[2 * PER + 3].state, TB_US_PENDING);
	assert_int_equal(r->compl.missing, NUNITS);
	assert_int_equal(r->compl.reported, 0);
	assert_int_equal(r->compl.closed, 0);
	assert_int_equal(r->compl.expected, NUNITS);
	tb_report_destroy(r);
	/* a district's report holds its schools only */
	r = run(d, hb, "2025-H2", "DC", 1);
	assert_int_equal(r->nschools, PER);
	assert_int_equal(r->compl.closed, 1);
	assert_int_equal(r->compl.expected, wd[2].expected);
	tb_report_destroy(r);
	tb_sql_close(d);
}

/* The trend of a cumulative indicator: its value at the end of every
 * half-year since the plan's start, beside the target pro-rated to that
 * day, both worked out here from the fixture and the plan file. */
static void test_series(void **state)
{
	const char *to = "thanh-oai-2021-2030";
	struct tb_report_opts o = {"DB", 0, 0, 0, 0, 1};
	struct tb_report *r = NULL;
	char msg[256];
	size_t checked = 0;

	(void)state;
	assert_int_equal(tb_report_run(db, tb_plan_set_find(plans, to),
				       "2025-H2", &o, &r, msg, sizeof(msg)), 0);
	for (size_t k = 0; k < r->nrows; k++) {
		const struct tb_report_row *w = &r->rows[k];
		int32_t start = r->plan->start;

		if (!w->ind->f.cumulative) {
			assert_int_equal(w->npoints, 0);
			continue;
		}
		assert_int_equal(w->npoints, 10); /* 2021-H1 .. 2025-H2 */
		for (size_t h = 0; h < w->npoints; h++) {
			int y = 2021 + (int)(h / 2);
			int32_t at = h % 2 ? day(y, 12, 31) : day(y, 6, 30);
			const struct tb_plan_target *t =
				tb_plan_target_for(w->ind, y);
			double want = 0;
			struct tb_period c;
			struct ref v;

			c.kind = TB_PERIOD_CUMULATIVE;
			c.year = y;
			c.from = start;
			c.to = at;
			ref_eval(r->plan, w->ind, "DB", &c, &v);
			want = v.cum;
			assert_int_equal(w->series[h].at, at);
			if (fabs(w->series[h].value - want) > 1e-9)
				fail_msg("%s at %zu: %f, want %f", w->ind->id, h,
					 w->series[h].value, want);
			assert_int_equal(w->series[h].has_target, t != NULL);
			if (t) {
				int32_t end = day(t->year, 12, 31);

				assert_true(fabs(w->series[h].target -
						 t->value * (double)(at - start + 1) /
							 (double)(end - start + 1)) < 1e-6);
			}
			checked++;
		}
		assert_true(fabs(w->series[w->npoints - 1].value -
				 w->v.cumulative) < 1e-9);
	}
	assert_true(checked >= 20);
	tb_report_destroy(r);
}

/* An officer types a name without diacritics, or part of a code. */
static void test_search(void **state)
{
	struct tb_unit_hits *h = NULL;
	char *f = tb_fold_search("  Huyện  ĐÀ Bắc ");

	(void)state;
	assert_string_equal(f, "huyen da bac");
	tb_free(f);
	assert_int_equal(tb_unit_search(db, "lac son", &h), 0);
	assert_int_equal(h->n, 1);
	assert_string_equal(h->hit[0].code, "DB");
	assert_string_equal(h->hit[0].name, "Huyện Lạc Sơn");
	tb_unit_hits_destroy(h);
	assert_int_equal(tb_unit_search(db, "THÀNH PHỐ hoa binh", &h), 0);
	assert_int_equal(h->n, 1);
	assert_string_equal(h->hit[0].code, "DC");
	tb_unit_hits_destroy(h);
	assert_int_equal(tb_unit_search(db, "sb0", &h), 0);
	assert_int_equal(h->n, PER);
	assert_string_equal(h->hit[0].type, "school");
	assert_string_equal(h->hit[0].district, "DB");
	assert_string_equal(h->hit[0].district_name, "Huyện Lạc Sơn");
	tb_unit_hits_destroy(h);
	assert_int_equal(tb_unit_search(db, "sa03", &h), 0); /* the code */
	assert_string_equal(h->hit[0].code, "SA03");
	tb_unit_hits_destroy(h);
	assert_int_equal(tb_unit_search(db, "không có", &h), 0);
	assert_int_equal(h->n, 0);
	tb_unit_hits_destroy(h);
	assert_int_equal(tb_unit_search(db, "   ", &h), 0);
	assert_int_equal(h->n, 0);
	tb_unit_hits_destroy(h);
}

static void same_report(const struct tb_report *r,
			const struct tb_report *want)
{
	assert_non_null(r);
	assert_int_equal(r->nrows, want->nrows);
	for (size_t i = 0; i < r->nrows; i++) {
		const struct tb_report_value *a = &r->rows[i].v;
		const struct tb_report_value *b = &want->rows[i].v;

		assert_int_equal(a->reported, b->reported);
		assert_int_equal(a->expected, b->expected);
		assert_int_equal(a->has_value, b->has_value);
		assert_true(a->value == b->value);
		assert_int_equal(a->status, b->status);
	}
}

/* The Nth allocation of a report run fails, N = 1, 2, ... until the run
 * completes: every failure is TB_ENOMEM with no report, and the run that
 * completes equals one made without failures (both plans, the province
 * with the per-district detail). Leaks show under TB_SANITIZE. */
static void test_alloc_failure_walk(void **state)
{
	static const char *const ids[] = {"hoa-binh-2022-2030",
					  "thanh-oai-2021-2030"};
	struct tb_report_opts o = {NULL, 0, 1, 0, 0, 0};
	long walked = 0;

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		const struct tb_plan *p = tb_plan_set_find(plans, ids[k]);
		struct tb_report *want = run(db, ids[k], "2025-H1", NULL, 1);
		struct tb_report *r = NULL;
		char msg[256];
		long n, used;
		int rc;

		assert_non_null(p);
		for (n = 1;; n++) {
			msg[0] = '\0';
			r = (struct tb_report *)1;
			tb_mem_fail_at(n);
			rc = tb_report_run(db, p, "2025-H1", &o, &r, msg,
					   sizeof(msg));
			used = tb_mem_count();
			tb_mem_fail_at(0);
			if (tb_sql_in_txn(db))
				fail_msg("%s: allocation %ld: the connection was"
					 " left inside a transaction", ids[k], n);
			if (rc == TB_OK) {
				/* SQLite survives some failures by itself
				 * (its "benign" ones): then the report must
				 * still be right */
				same_report(r, want);
				tb_report_destroy(r);
				if (used < n)
					break;
				continue;
			}
			if (rc != TB_ENOMEM)
				fail_msg("%s: allocation %ld: rc %d (%s)", ids[k],
					 n, rc, msg);
			assert_null(r);
			assert_true(n < 1000000);
		}
		walked += n - 1;
		tb_report_destroy(want);
	}
	printf("report: %ld allocation failures walked, all clean\n", walked);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_indicator),
		cmocka_unit_test(test_rebuild),
		cmocka_unit_test(test_alloc_failure_walk),
		cmocka_unit_test(test_missing_never_zero),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_detail),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_completeness),
		cmocka_unit_test(test_series),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_dashboard_chromium),
		cmocka_unit_test(test_void_and_amend),
	};

	/* before the first SQLite call: the allocation-failure walk reaches
	 * SQLite's own allocations too */
	if (tb_mem_sqlite_route() != TB_OK) {
		fprintf(stderr, "cannot route SQLite's allocations\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
