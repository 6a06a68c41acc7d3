/* sheet.c - a saved spreadsheet file as UTF-8 CSV (rules in sheet.h).
 *
 * Called by import. The file is read whole (bounded), its first bytes say
 * what it is, iconv (glibc) converts UTF-16 and Windows-1258, libunistring
 * checks UTF-8 and normalises to NFC, and agent/xlsx.c turns a workbook's
 * sheet into CSV text. Nothing here guesses: bytes that are neither valid
 * UTF-8 nor valid Windows-1258 are refused.
 */
#include "agent/sheet.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "agent/xlsx.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/i18n.h"
#include "common/mem.h"

#define SAVE_AS_UTF8                                                        \
	N_("in Excel use File > Save As and choose \"CSV UTF-8 (Comma "     \
	   "delimited)\"; in LibreOffice choose \"Text CSV\" with the "     \
	   "character set \"Unicode (UTF-8)\"")

/* Reads all of f into b, at most TB_SHEET_MAX bytes. */
static int read_all(FILE *f, struct tb_buf *b, const char *path, char *msg,
		    size_t msglen)
{
	char chunk[16384];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b->len + n > TB_SHEET_MAX) {
			snprintf(msg, msglen,
				 _("%s is larger than %u MB; a school's "
				   "sheet is far smaller: is it the right "
				   "file?"),
				 path, TB_SHEET_MAX / (1024 * 1024));
			return TB_ETOOBIG;
		}
		if (tb_buf_add(b, chunk, n) != TB_OK)
			return TB_ENOMEM;
	}
	if (ferror(f)) {
		snprintf(msg, msglen, _("cannot read %s: %s"), path,
			 strerror(errno));
		return TB_EIO;
	}
	return TB_OK;
}

/* in[0..n) from encoding `from` into UTF-8 in out. 0, or TB_EINVAL when
 * a byte sequence is not valid in `from`. */
static int convert(const char *from, const char *in, size_t n,
		   struct tb_buf *out)
{
	iconv_t cd = iconv_open("UTF-8", from);
	char *ip = (char *)in, *op;
	size_t il = n, ol, done;
	int rc = TB_OK;

	/* iconv_open's documented failure value */
	if (cd == (iconv_t)-1) // NOLINT(performance-no-int-to-ptr)
		return TB_EIO;
	while (rc == TB_OK && il > 0) {
		if (tb_buf_reserve(out, il * 3 + 16) != TB_OK) {
			rc = TB_ENOMEM;
			break;
		}
		op = out->p + out->len;
		ol = out->cap - out->len - 1;
		done = ol;
		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 &&
		    errno != E2BIG)
			rc = TB_EINVAL; /* EILSEQ, or EINVAL: cut short */
		out->len += done - ol;
		out->p[out->len] = '\0';
	}
	iconv_close(cd);
	return rc;
}

static int has_nul(const char *p, size_t n)
{
	return memchr(p, '\0', n) != NULL;
}

/* Names a binary file by its first bytes. 1 and msg if it is one. */
static int binary_kind(const unsigned char *p, size_t n, const char *path,
		       char *msg, size_t msglen)
{
	static const unsigned char ole[] = { 0xD0, 0xCF, 0x11, 0xE0,
					     0xA1, 0xB1, 0x1A, 0xE1 };

	if (n >= sizeof(ole) && memcmp(p, ole, sizeof(ole)) == 0) {
		snprintf(msg, msglen,
			 _("%s is an Excel 97-2003 workbook (.xls), which "
			   "the agent does not read; open it and save it "
			   "as Excel Workbook (.xlsx) or as CSV UTF-8"),
			 path);
		return 1;
	}
	if (n >= 5 && memcmp(p, "%PDF-", 5) == 0) {
		snprintf(msg, msglen,
			 _("%s is a PDF document, not a spreadsheet; import "
			   "the .xlsx or CSV file the figures came from"),
			 path);
		return 1;
	}
	if (n >= 4 && (p[1] == 0 || p[0] == 0) && has_nul((const char *)p, n)) {
		snprintf(msg, msglen,
			 _("%s looks like UTF-16 text without a byte order "
			   "mark, which cannot be read safely; %s"),
			 path, _(SAVE_AS_UTF8));
		return 1;
	}
	if (has_nul((const char *)p, n)) {
		snprintf(msg, msglen,
			 _("%s is a binary file, not a spreadsheet saved as "
			   "text or .xlsx; %s"),
			 path, _(SAVE_AS_UTF8));
		return 1;
	}
	return 0;
}

/* The separator the first record uses most outside quotes; ',' if none. */
static char detect_sep(const char *p)
{
	size_t comma = 0, semi = 0, tab = 0;
	int quoted = 0;

	for (; *p && (quoted || (*p != '\n' && *p != '\r')); p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted)
			comma += *p == ',', semi += *p == ';', tab += *p == '\t';
	}
	if (semi > comma && semi >= tab)
		return ';';
	if (tab > comma && tab > semi)
		return '\t';
	return ',';
}

/* Text bytes raw[0..n) (not xlsx) to UTF-8 in s->text. */
static int decode_text(const char *raw, size_t n, const char *path,
		       struct tb_sheet *s, char *msg, size_t msglen)
{
	const unsigned char *u = (const unsigned char *)raw;
	struct tb_buf out = TB_BUF_INIT;
	const char *from = NULL;
	size_t skip = 0;
	int rc = TB_OK;

	if (n >= 2 && u[0] == 0xFF && u[1] == 0xFE)
		from = "UTF-16LE", skip = 2;
	else if (n >= 2 && u[0] == 0xFE && u[1] == 0xFF)
		from = "UTF-16BE", skip = 2;
	else if (n >= 3 && memcmp(u, "\xEF\xBB\xBF", 3) == 0)
		skip = 3;
	if (!from && binary_kind(u, n, path, msg, msglen))
		return TB_EINVAL;
	if (!from && u8_check((const uint8_t *)raw + skip, n - skip) == NULL) {
		s->encoding = "UTF-8"; /* NFC straight from raw: no copy */
		s->text = tb_input_nfc(raw + skip);
		return s->text ? TB_OK : TB_ENOMEM;
	} else {
		if (!from)
			from = "WINDOWS-1258";
		s->encoding = from[0] == 'U' ? from : "Windows-1258";
		rc = convert(from, raw + skip, n - skip, &out);
		if (rc == TB_OK && has_nul(out.p ? out.p : "", out.len))
			rc = TB_EINVAL;
		if (rc == TB_EINVAL)
			snprintf(msg, msglen,
				 from[0] == 'U'
					 ? _("%s says it is %s but holds bytes "
					     "that are not; %s")
					 : _("%s is neither UTF-8 nor "
					     "Windows-1258 text (%s); %s"),
				 path, from[0] == 'U' ? from : _("the two "
								 "encodings "
								 "Vietnamese "
								 "Windows "
								 "saves"),
				 _(SAVE_AS_UTF8));
	}
	if (rc == TB_OK) {
		s->text = tb_input_nfc(out.p ? out.p : "");
		rc = s->text ? TB_OK : TB_ENOMEM;
	}
	tb_buf_free(&out);
	return rc;
}

/* An .xlsx sheet through agent/xlsx.c into s->text. */
static int load_xlsx(const char *path, const char *sheet, struct tb_sheet *s,
		     char *msg, size_t msglen)
{
	char *p = NULL;
	size_t n = 0;
	FILE *mem = open_memstream(&p, &n);
	int rc;

	if (!mem)
		return TB_ENOMEM;
	rc = tb_xlsx_to_csv(path, sheet, mem, msg, msglen);
	if (fclose(mem) != 0 && rc == TB_OK)
		rc = TB_ENOMEM;
	if (rc == TB_OK) {
		s->text = tb_input_nfc(p ? p : "");
		rc = s->text ? TB_OK : TB_ENOMEM;
	}
	free(p); /* open_memstream's buffer is malloc's */
	s->encoding = "xlsx";
	s->sep = ',';
	s->conv = TB_NUM_UNKNOWN; /* number cells come as plain digits */
	return rc;
}

int tb_sheet_load(const char *path, const char *sheet, struct tb_sheet *s,
		  char *msg, size_t msglen)
{
	struct tb_buf raw = TB_BUF_INIT;
	int std = strcmp(path, "-") == 0, rc;
	FILE *f;

	memset(s, 0, sizeof(*s));
	msg[0] = '\0';
	f = std ? stdin : fopen(path, "rb");
	if (!f) {
		snprintf(msg, msglen, _("cannot open %s: %s"), path,
			 strerror(errno));
		return TB_EIO;
	}
	rc = read_all(f, &raw, path, msg, msglen);
	if (!std)
		fclose(f);
	if (rc == TB_OK && raw.len >= 4 &&
	    tb_xlsx_looks_like_zip((const unsigned char *)raw.p, raw.len)) {
		if (std) {
			snprintf(msg, msglen,
				 _("an .xlsx workbook cannot be read from "
				   "standard input; give its file name"));
			rc = TB_EINVAL;
		} else {
			rc = load_xlsx(path, sheet, s, msg, msglen);
		}
	} else if (rc == TB_OK && sheet) {
		snprintf(msg, msglen,
			 _("--sheet is for .xlsx workbooks; %s is a text "
			   "file with one sheet"),
			 path);
		rc = TB_EINVAL;
	} else if (rc == TB_OK) {
		rc = decode_text(raw.p ? raw.p : "", raw.len, path, s, msg,
				 msglen);
		if (rc == TB_OK) {
			s->sep = detect_sep(s->text);
			s->conv = s->sep == ';' ? TB_NUM_DOT
						: TB_NUM_UNKNOWN;
		}
	}
	tb_buf_free(&raw);
	if (rc == TB_OK)
		s->len = strlen(s->text);
	else
		tb_sheet_free(s);
	return rc;
}

void tb_sheet_free(struct tb_sheet *s)
{
	tb_free(s->text);
	s->text = NULL;
	s->len = 0;
}

/* A letter: ASCII, or the first byte of a multi-byte UTF-8 character
 * (every non-ASCII character a Vietnamese word holds is a letter). */
static int letter_at(const char *p)
{
	unsigned char c = (unsigned char)*p;

	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0xC0;
}

int tb_sheet_lossy(const char *text)
{
	const char *p;

	if (strstr(text, "://") || strncmp(text, "www.", 4) == 0)
		return 0;
	for (p = text; (p = strchr(p, '?')) != NULL; p++)
		if (letter_at(p + 1))
			return 1;
	return 0;
}
