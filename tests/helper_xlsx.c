/* helper_xlsx.c - a workbook read back cell by cell (helper_xlsx.h). */
#include "tests/helper_xlsx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <zip.h>

#define REL_NS "http://schemas.openxmlformats.org/officeDocument/2006/" \
	       "relationships"

static int num(const char *s)
{
	return s ? (int)strtol(s, NULL, 10) : 0;
}

/* A part of the zip, NUL-terminated (free), or NULL if absent. */
static char *part(zip_t *z, const char *name)
{
	zip_stat_t st;
	zip_file_t *f;
	char *buf;

	if (zip_stat(z, name, 0, &st) != 0 || !(f = zip_fopen(z, name, 0)))
		return NULL;
	buf = calloc(1, st.size + 1);
	if (buf && zip_fread(f, buf, st.size) != (zip_int64_t)st.size) {
		free(buf);
		buf = NULL;
	}
	zip_fclose(f);
	return buf;
}

static xmlDoc *parse(const char *xml, const char *what)
{
	xmlDoc *d = xml ? xmlReadMemory(xml, (int)strlen(xml), NULL, "UTF-8",
					XML_PARSE_NONET)
			: NULL;

	if (!d)
		fprintf(stderr, "helper_xlsx: %s: missing or not XML\n", what);
	return d;
}

static int is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	       strcmp((const char *)n->name, name) == 0;
}

static char *attr(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	char *s = v ? strdup((const char *)v) : NULL;

	xmlFree(v);
	return s;
}

/* The text of every <t> under n, joined (a shared or inline string, its
 * rich-text runs too). */
static void text_into(const xmlNode *n, char *buf, size_t len)
{
	for (const xmlNode *k = n->children; k; k = k->next) {
		if (is(k, "t")) {
			xmlChar *c = xmlNodeGetContent(k);
			size_t at = strlen(buf);

			snprintf(buf + at, len - at, "%s", (const char *)c);
			xmlFree(c);
		} else if (is(k, "r") || is(k, "is")) {
			text_into(k, buf, len);
		}
	}
}

static char *text_of(const xmlNode *n)
{
	char buf[32768] = "";

	text_into(n, buf, sizeof(buf));
	return strdup(buf);
}

static int read_strings(struct helper_xlsx *b, zip_t *z)
{
	char *xml = part(z, "xl/sharedStrings.xml");
	xmlDoc *d;
	size_t n = 0;

	if (!xml)
		return 0; /* constant-memory workbooks have inline strings */
	d = parse(xml, "sharedStrings.xml");
	free(xml);
	if (!d)
		return -1;
	for (xmlNode *k = xmlDocGetRootElement(d)->children; k; k = k->next)
		n += is(k, "si");
	b->sst = calloc(n + 1, sizeof(*b->sst));
	for (xmlNode *k = xmlDocGetRootElement(d)->children; b->sst && k;
	     k = k->next)
		if (is(k, "si"))
			b->sst[b->nsst++] = text_of(k);
	xmlFreeDoc(d);
	return b->sst ? 0 : -1;
}

static int read_styles(struct helper_xlsx *b, zip_t *z)
{
	char *xml = part(z, "xl/styles.xml");
	xmlDoc *d = parse(xml, "styles.xml");

	free(xml);
	if (!d)
		return -1;
	for (xmlNode *n = xmlDocGetRootElement(d)->children; n; n = n->next)
		for (xmlNode *k = n->children; k; k = k->next) {
			char *id = attr(k, "numFmtId");

			if (is(n, "numFmts") && is(k, "numFmt") &&
			    b->nfmt < HELPER_XLSX_MAX) {
				b->fmt_id[b->nfmt] = num(id);
				b->fmt_code[b->nfmt++] = attr(k, "formatCode");
			} else if (is(n, "cellXfs") && is(k, "xf") &&
				   b->nxf < 256) {
				b->xf_fmt[b->nxf++] = num(id);
			}
			free(id);
		}
	xmlFreeDoc(d);
	return 0;
}

static void read_cell(const struct helper_xlsx *b, const xmlNode *c,
		      struct helper_xlsx_cell *x)
{
	char *t = attr(c, "t"), *s = attr(c, "s"), *r = attr(c, "r");

	memset(x, 0, sizeof(*x));
	snprintf(x->ref, sizeof(x->ref), "%s", r ? r : "");
	snprintf(x->t, sizeof(x->t), "%s", t ? t : "");
	x->s = num(s);
	for (const xmlNode *k = c->children; k; k = k->next) {
		xmlChar *v = is(k, "v") ? xmlNodeGetContent(k) : NULL;
		int i = v ? num((const char *)v) : -1;

		if (v && strcmp(x->t, "s") == 0)
			x->v = i >= 0 && (size_t)i < b->nsst ? strdup(b->sst[i])
							     : NULL;
		else if (v)
			x->v = strdup((const char *)v);
		else if (is(k, "is"))
			x->v = text_of(k);
		xmlFree(v);
	}
	free(t);
	free(s);
	free(r);
}

static int read_cells(const struct helper_xlsx *b,
		      struct helper_xlsx_sheet *sh)
{
	xmlDoc *d = parse(sh->xml, sh->name);
	xmlNode *data = NULL;
	size_t n = 0;

	if (!d)
		return -1;
	for (xmlNode *k = xmlDocGetRootElement(d)->children; k; k = k->next)
		if (is(k, "sheetData"))
			data = k;
	for (xmlNode *row = data ? data->children : NULL; row; row = row->next)
		for (xmlNode *c = row->children; c; c = c->next)
			n += is(c, "c");
	sh->c = calloc(n + 1, sizeof(*sh->c));
	for (xmlNode *row = data ? data->children : NULL; sh->c && row;
	     row = row->next)
		for (xmlNode *c = row->children; c; c = c->next)
			if (is(c, "c"))
				read_cell(b, c, &sh->c[sh->n++]);
	xmlFreeDoc(d);
	return sh->c ? 0 : -1;
}

/* The path of relationship rid in the workbook's relationships. */
static void target_of(xmlDoc *rels, const char *rid, char *path, size_t len)
{
	path[0] = '\0';
	for (xmlNode *x = xmlDocGetRootElement(rels)->children; x; x = x->next) {
		char *id = attr(x, "Id"), *target = attr(x, "Target");

		if (id && target && strcmp(id, rid) == 0)
			snprintf(path, len, "%s%s",
				 target[0] == '/' ? "" : "xl/",
				 target + (target[0] == '/'));
		free(id);
		free(target);
	}
}

static int read_sheets(struct helper_xlsx *b, zip_t *z)
{
	char *wbx = part(z, "xl/workbook.xml");
	char *relx = part(z, "xl/_rels/workbook.xml.rels");
	xmlDoc *w = parse(wbx, "workbook.xml"), *rels = parse(relx, "rels");
	int rc = w && rels ? 0 : -1;

	for (xmlNode *n = w ? xmlDocGetRootElement(w)->children : NULL;
	     !rc && n; n = n->next)
		for (xmlNode *k = n->children; !rc && is(n, "sheets") && k;
		     k = k->next) {
			xmlChar *rid = xmlGetNsProp(k, (const xmlChar *)"id",
						    (const xmlChar *)REL_NS);
			struct helper_xlsx_sheet *sh = &b->sh[b->nsh];
			char path[512];

			if (!rid || b->nsh == HELPER_XLSX_MAX) {
				xmlFree(rid);
				rc = -1;
				break;
			}
			b->nsh++;
			target_of(rels, (const char *)rid, path, sizeof(path));
			xmlFree(rid);
			sh->name = attr(k, "name");
			sh->xml = part(z, path);
			rc = sh->name && sh->xml ? read_cells(b, sh) : -1;
		}
	xmlFreeDoc(w);
	xmlFreeDoc(rels);
	free(wbx);
	free(relx);
	return rc;
}

struct helper_xlsx *helper_xlsx_open(const char *path)
{
	struct helper_xlsx *b = calloc(1, sizeof(*b));
	int err = 0;
	zip_t *z = zip_open(path, ZIP_RDONLY, &err);

	if (!z) {
		fprintf(stderr, "helper_xlsx: %s: not a zip (libzip %d)\n",
			path, err);
		free(b);
		return NULL;
	}
	if (!b || read_strings(b, z) < 0 || read_styles(b, z) < 0 ||
	    read_sheets(b, z) < 0) {
		fprintf(stderr, "helper_xlsx: %s: not a workbook\n", path);
		helper_xlsx_free(b);
		b = NULL;
	}
	zip_close(z);
	return b;
}

void helper_xlsx_free(struct helper_xlsx *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nsh; i++) {
		for (size_t j = 0; j < b->sh[i].n; j++)
			free(b->sh[i].c[j].v);
		free(b->sh[i].c);
		free(b->sh[i].name);
		free(b->sh[i].xml);
	}
	for (size_t i = 0; i < b->nsst; i++)
		free(b->sst[i]);
	free(b->sst);
	for (size_t i = 0; i < b->nfmt; i++)
		free(b->fmt_code[i]);
	free(b);
}

const struct helper_xlsx_sheet *helper_xlsx_sheet(const struct helper_xlsx *b,
						   const char *name)
{
	for (size_t i = 0; i < b->nsh; i++)
		if (strcmp(b->sh[i].name, name) == 0)
			return &b->sh[i];
	return NULL;
}

const struct helper_xlsx_cell *helper_xlsx_cell(
	const struct helper_xlsx_sheet *sh, const char *ref)
{
	for (size_t i = 0; i < sh->n; i++)
		if (strcmp(sh->c[i].ref, ref) == 0)
			return &sh->c[i];
	return NULL;
}

const char *helper_xlsx_numfmt(const struct helper_xlsx *b,
			       const struct helper_xlsx_cell *c)
{
	static char builtin[32];
	int id = c->s >= 0 && (size_t)c->s < b->nxf ? b->xf_fmt[c->s] : 0;

	for (size_t i = 0; i < b->nfmt; i++)
		if (b->fmt_id[i] == id)
			return b->fmt_code[i];
	if (id == 0)
		return "General";
	snprintf(builtin, sizeof(builtin), "builtin %d", id);
	return builtin;
}

/* Splits "AB12" into its letters' length and its row. */
static size_t letters(const char *ref, int *row)
{
	size_t k = strspn(ref, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");

	*row = num(ref + k);
	return k;
}

int helper_xlsx_row_of(const struct helper_xlsx_sheet *sh, char col,
		       const char *text)
{
	int row;

	for (size_t i = 0; i < sh->n; i++)
		if (letters(sh->c[i].ref, &row) == 1 &&
		    sh->c[i].ref[0] == col && sh->c[i].v &&
		    strcmp(sh->c[i].v, text) == 0)
			return row;
	return 0;
}

int helper_xlsx_col_of(const struct helper_xlsx_sheet *sh, int row,
		       const char *text, char *col, size_t len)
{
	int r;

	for (size_t i = 0; i < sh->n; i++) {
		size_t k = letters(sh->c[i].ref, &r);

		if (r == row && sh->c[i].v && strcmp(sh->c[i].v, text) == 0) {
			snprintf(col, len, "%.*s", (int)k, sh->c[i].ref);
			return 0;
		}
	}
	return -1;
}
