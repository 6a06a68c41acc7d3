/* test_xlsx.c - .xlsx sheets as CSV (agent/xlsx.c): the clerk's workbook
 * as LibreOffice saves it, sheet choice, the refusals (.ods, other zips,
 * not a zip, error cells, Excel's 29 February 1900, DTDs, zip bombs),
 * cell references, and running out of memory at every allocation.
 * Fixtures: tests/data/import/ (made with LibreOffice; README.md there).
 * The small workbooks of the cell-level cases are zipped here, at run
 * time, with libzip, from the XML written out below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zip.h>

#include "agent/xlsx.h"
#include "common/err.h"
#include "common/mem.h"

#define DATA TB_SOURCE_DIR "/tests/data/import/"

/* The first sheet of clerk.xlsx ("Danh sách"): dates as dates, 1.500 as
 * 1500, the empty cells empty, the empty ones at a row's end dropped. */
static const char clerk_csv[] =
    "Loại hoạt động,Ngày,Tên hoạt động,Phụ huynh,Học sinh,"
    "Giáo viên và nhân viên,Số người tham gia,Số nữ\r\n"
    "Tuyên truyền,2025-11-20,Tuyên truyền bình đẳng giới cho phụ huynh,"
    "1500,320,45\r\n"
    "Tập huấn,2025-12-05,Tập huấn kỹ năng lồng ghép giới,,,,42,30\r\n"
    "Tháng hành động,2025-11-15,Mít tinh hưởng ứng Tháng hành động,"
    "2300,1250,80\r\n";

/* Converts; *text is what was written (free()), even on failure. */
static int convert(const char *path, const char *sheet, char **text,
		   char *msg, size_t msglen)
{
	size_t len = 0;
	FILE *f;
	int rc;

	*text = NULL;
	f = open_memstream(text, &len);
	assert_non_null(f);
	msg[0] = '\0';
	rc = tb_xlsx_to_csv(path, sheet, f, msg, msglen);
	assert_int_equal(fclose(f), 0);
	return rc;
}

static void expect_csv(const char *path, const char *sheet, const char *want)
{
	char msg[256], *text;
	int rc = convert(path, sheet, &text, msg, sizeof(msg));

	if (rc != 0)
		fail_msg("%s: rc %d (%s)", path, rc, msg);
	assert_string_equal(text, want);
	free(text);
}

/* Expects rc with a message that holds want. */
static void expect_refusal(const char *path, const char *sheet, int want_rc,
			   const char *want)
{
	char msg[512], *text;
	int rc = convert(path, sheet, &text, msg, sizeof(msg));

	free(text);
	if (rc != want_rc || !strstr(msg, want))
		fail_msg("%s: rc %d (%s), wanted %d (%s)", path, rc, msg,
			 want_rc, want);
}

static void test_clerk_sheets(void **state)
{
	(void)state;
	expect_csv(DATA "clerk.xlsx", NULL, clerk_csv);
	expect_csv(DATA "clerk.xlsx", "Danh sách", clerk_csv);
	/* a comma in the text: quoted */
	expect_csv(DATA "clerk.xlsx", "Ghi chú",
		   "\"Số liệu học kỳ I năm học 2025-2026, do văn thư "
		   "nhập.\"\r\n");
}

static void test_unknown_sheet(void **state)
{
	(void)state;
	expect_refusal(DATA "clerk.xlsx", "Sheet1", TB_EINVAL,
		       "no sheet named \"Sheet1\"; its sheets are "
		       "\"Danh sách\", \"Ghi chú\"");
	expect_refusal(DATA "clerk.xlsx", "danh sách", TB_EINVAL,
		       "\"Danh sách\", \"Ghi chú\"");
}

static void test_not_xlsx(void **state)
{
	char empty[] = "/tmp/test_xlsx.XXXXXX";
	int fd = mkstemp(empty);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	expect_refusal(DATA "clerk.ods", NULL, TB_EINVAL,
		       "this is an OpenDocument spreadsheet (.ods); in "
		       "LibreOffice use File > Save As and choose Excel "
		       "2007-365 (.xlsx) or Text CSV (UTF-8)");
	expect_refusal(DATA "clerk-utf8.csv", NULL, TB_EINVAL,
		       "not an .xlsx file");
	expect_refusal(DATA "README.md", NULL, TB_EINVAL, "not an .xlsx");
	expect_refusal(empty, NULL, TB_EINVAL, "not an .xlsx");
	assert_int_equal(unlink(empty), 0);
	expect_refusal(DATA "no-such.xlsx", NULL, TB_EIO, "no-such.xlsx");
}

static void test_looks_like_zip(void **state)
{
	unsigned char head[8];
	FILE *f;

	(void)state;
	f = fopen(DATA "clerk.xlsx", "rb");
	assert_non_null(f);
	assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
	fclose(f);
	assert_int_equal(tb_xlsx_looks_like_zip(head, sizeof(head)), 1);
	assert_int_equal(tb_xlsx_looks_like_zip(head, 3), 0);
	assert_int_equal(
	    tb_xlsx_looks_like_zip((const unsigned char *)"Loại", 4), 0);
}

static void test_cell_ref(void **state)
{
	static const char *const bad[] = {"",    "A",      "1",   "A0",
					  "a1",  "A1 ",    "A-1", "XFE1",
					  "AAAA1", "A1048577", "$A$1", "A01x"};
	static const struct {
		const char *ref;
		unsigned col, row;
	} good[] = {{"A1", 1, 1},   {"C5", 3, 5},          {"Z9", 26, 9},
		    {"AA10", 27, 10}, {"XFD1048576", 16384, 1048576}};
	unsigned col = 7, row = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(tb_xlsx_cell_ref(good[i].ref, &col, &row), 0);
		assert_int_equal(col, good[i].col);
		assert_int_equal(row, good[i].row);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tb_xlsx_cell_ref(bad[i], &col, &row) != TB_EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(col, 16384); /* untouched */
	}
}

/* ---- workbooks zipped here ---------------------------------------------- */

#define NS "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" " \
	   "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\""
#define REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"

/* Style 1: built-in 14 (a date); 2: "ngày" d/m/yyyy (a date); 3: [h]:mm:ss
 * (a time, not a date); 4: #,##0. */
static const char styles_xml[] =
    "<styleSheet " NS "><numFmts count=\"3\">"
    "<numFmt numFmtId=\"164\" formatCode=\"&quot;ngày&quot; d/m/yyyy\"/>"
    "<numFmt numFmtId=\"165\" formatCode=\"[h]:mm:ss\"/>"
    "<numFmt numFmtId=\"166\" formatCode=\"#,##0\"/></numFmts>"
    "<cellStyleXfs count=\"1\"><xf numFmtId=\"14\"/></cellStyleXfs>"
    "<cellXfs count=\"5\"><xf numFmtId=\"0\"/><xf numFmtId=\"14\"/>"
    "<xf numFmtId=\"164\"/><xf numFmtId=\"165\"/><xf numFmtId=\"166\"/>"
    "</cellXfs><dxfs count=\"1\"><dxf><numFmt numFmtId=\"166\" "
    "formatCode=\"yyyy\"/></dxf></dxfs></styleSheet>";

/* 0 "Tên"; 1 rich text in runs with a phonetic guide; 2 blanks and
 * quotes kept. */
static const char sst_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<sst " NS " count=\"3\" uniqueCount=\"3\"><si><t>Tên</t></si>"
    "<si><r><t xml:space=\"preserve\">Bình </t></r><r><rPr><b/></rPr>"
    "<t>đẳng</t></r><rPh sb=\"0\" eb=\"1\"><t>XX</t></rPh></si>"
    "<si><t xml:space=\"preserve\"> a, \"b\" </t></si></sst>";

static const char rels_xml[] =
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/"
    "2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"" REL "styles\" Target=\"styles.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"" REL "worksheet\" "
    "Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId3\" Type=\"" REL "sharedStrings\" "
    "Target=\"/xl/sharedStrings.xml\"/>"
    "<Relationship Id=\"rId4\" Type=\"" REL "worksheet\" "
    "Target=\"worksheets/sheet2.xml\"/></Relationships>";

struct book {
	char dir[64], path[96];
};

static void add_entry(zip_t *z, const char *name, const char *data,
		      size_t len)
{
	zip_source_t *src = zip_source_buffer(z, data, len, 0);
	zip_int64_t i;

	assert_non_null(src);
	i = zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8);
	assert_true(i >= 0);
	assert_int_equal(zip_set_file_compression(z, (zip_uint64_t)i,
						  ZIP_CM_STORE, 0), 0);
}

/* A zip of the entries names[i] = texts[i] (n of them) in a new temp dir. */
static void make_zip(struct book *b, const char *const *names,
		     const char *const *texts, const size_t *lens, size_t n)
{
	zip_t *z;
	int err = 0;

	snprintf(b->dir, sizeof(b->dir), "/tmp/test_xlsx.XXXXXX");
	assert_non_null(mkdtemp(b->dir));
	snprintf(b->path, sizeof(b->path), "%s/book.xlsx", b->dir);
	z = zip_open(b->path, ZIP_CREATE | ZIP_TRUNCATE, &err);
	assert_non_null(z);
	for (size_t i = 0; i < n; i++)
		add_entry(z, names[i], texts[i],
			  lens ? lens[i] : strlen(texts[i]));
	assert_int_equal(zip_close(z), 0);
}

/* A workbook of two sheets, "Một" (sheet_data, the inside of its
 * <sheetData>) and "Hai" (an error cell), in date system wbpr. */
static void make_book(struct book *b, const char *wbpr, const char *sheet_data)
{
	static const char *const names[] = {
	    "[Content_Types].xml", "xl/workbook.xml",
	    "xl/_rels/workbook.xml.rels", "xl/styles.xml",
	    "xl/sharedStrings.xml", "xl/worksheets/sheet1.xml",
	    "xl/worksheets/sheet2.xml"};
	char workbook[1024], sheet[4096];
	const char *texts[7];

	snprintf(workbook, sizeof(workbook),
		 "<workbook " NS "><workbookPr %s/><sheets>"
		 "<sheet name=\"Một\" sheetId=\"1\" r:id=\"rId2\"/>"
		 "<sheet name=\"Hai\" sheetId=\"2\" r:id=\"rId4\"/>"
		 "</sheets></workbook>",
		 wbpr);
	snprintf(sheet, sizeof(sheet),
		 "<worksheet " NS "><sheetData>%s</sheetData></worksheet>",
		 sheet_data);
	texts[0] = "<Types/>";
	texts[1] = workbook;
	texts[2] = rels_xml;
	texts[3] = styles_xml;
	texts[4] = sst_xml;
	texts[5] = sheet;
	texts[6] = "<worksheet " NS "><sheetData><row r=\"5\">"
		   "<c r=\"A5\"><v>1</v></c><c r=\"C5\" t=\"e\">"
		   "<f>1/0</f><v>#DIV/0!</v></c></row></sheetData></worksheet>";
	make_zip(b, names, texts, NULL, 7);
}

static void remove_book(struct book *b)
{
	assert_int_equal(unlink(b->path), 0);
	assert_int_equal(rmdir(b->dir), 0);
}

static void test_cells(void **state)
{
	struct book b;

	(void)state;
	make_book(&b, "date1904=\"false\"",
		  "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c>"
		  "<c r=\"C1\" t=\"s\"><v>1</v></c></row>"
		  /* numbers as written; G2 empty, dropped */
		  "<row r=\"2\"><c r=\"A2\"><v>1.5E3</v></c>"
		  "<c r=\"B2\" t=\"n\"><v>1499.9999999999998</v></c>"
		  "<c r=\"C2\"><v>0.25</v></c><c r=\"D2\" t=\"b\"><v>1</v></c>"
		  "<c r=\"E2\" t=\"str\"><f>A2&amp;\"\"</f><v>1500</v></c>"
		  "<c r=\"F2\" s=\"4\"><v>-0</v></c><c r=\"G2\" s=\"4\"/></row>"
		  /* row 3 left out: a blank line */
		  "<row r=\"4\"><c r=\"A4\" s=\"1\"><v>45981.75</v></c>"
		  "<c r=\"B4\" s=\"2\"><v>61</v></c>"
		  "<c r=\"C4\" s=\"3\"><v>0.5</v></c>"
		  "<c r=\"D4\" t=\"inlineStr\"><is><r><t>nội </t></r>"
		  "<r><t>tuyến</t></r></is></c>"
		  "<c r=\"E4\" t=\"s\"><v>2</v></c></row>"
		  /* an empty row, then one without references */
		  "<row r=\"6\" spans=\"1:3\"/>"
		  "<row><c/><c s=\"1\"><v>59</v></c><c t=\"b\"><v>0</v></c>"
		  "</row>");
	expect_csv(b.path, NULL,
		   "Tên,,Bình đẳng\r\n"
		   "1500,1500,0.25,1,1500,0\r\n"
		   "\r\n"
		   "2025-11-20,1900-03-01,0.5,nội tuyến,\" a, \"\"b\"\" \"\r\n"
		   "\r\n"
		   "\r\n"
		   ",1900-02-28,0\r\n");
	expect_refusal(b.path, "Hai", TB_EINVAL,
		       "cell C5 holds the error #DIV/0!");
	remove_book(&b);

	make_book(&b, "date1904=\"true\"",
		  "<row r=\"1\"><c r=\"A1\" s=\"1\"><v>0</v></c>"
		  "<c r=\"B1\" s=\"2\"><v>44519</v></c></row>");
	expect_csv(b.path, "Một", "1904-01-01,2025-11-20\r\n");
	remove_book(&b);
}

/* Cells and parts that are refused, each in a workbook of its own. */
static void test_refusals(void **state)
{
	static const struct {
		const char *sheet_data, *want;
	} cases[] = {
	    {"<row r=\"3\"><c r=\"B3\" s=\"1\"><v>60</v></c></row>",
	     "cell B3 holds 29 February 1900"},
	    {"<row r=\"3\"><c r=\"B3\" s=\"1\"><v>0.5</v></c></row>",
	     "cell B3 is formatted as a date but holds 0.5"},
	    {"<row r=\"3\"><c r=\"B3\"><v>1,5</v></c></row>",
	     "cell B3 holds \"1,5\", which is not a number"},
	    {"<row r=\"3\"><c r=\"B3\" t=\"s\"><v>3</v></c></row>",
	     "cell B3 refers to shared string 3"},
	    {"<row r=\"3\"><c r=\"B3\" t=\"x\"><v>3</v></c></row>",
	     "t=\"x\""},
	    {"<row r=\"3\"><c r=\"B3\"><v>1</v></c><c r=\"A3\"/></row>",
	     "cells out of order in xl/worksheets/sheet1.xml"},
	    {"<row r=\"3\"/><row r=\"2\"/>", "rows out of order"},
	    {"<row r=\"3\"><c r=\"B4\"/></row>", "cells out of order"},
	    {"<row r=\"3\"><c r=\"3B\"/></row>", "a cell with a bad reference"},
	    {"<row r=\"3\"><c r=\"B3\"><v>1</v></row>",
	     "xl/worksheets/sheet1.xml is not well-formed XML (line 1)"},
	};
	struct book b;
	char msg[256], *text;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_book(&b, "", cases[i].sheet_data);
		expect_refusal(b.path, NULL, TB_EINVAL, cases[i].want);
		remove_book(&b);
	}
	/* what was written before the refusal stays written */
	make_book(&b, "", "<row r=\"1\"><c r=\"A1\"><v>7</v></c></row>"
			  "<row r=\"2\"><c r=\"A2\" t=\"e\"><v>#N/A</v></c>"
			  "</row>");
	assert_int_equal(convert(b.path, NULL, &text, msg, sizeof(msg)),
			 TB_EINVAL);
	assert_string_equal(text, "7\r\n");
	assert_string_equal(msg, "cell A2 holds the error #N/A");
	free(text);
	remove_book(&b);
}

static void test_hostile_zips(void **state)
{
	static const char *const plain[] = {"hello.txt"};
	static const char *const hello[] = {"hello"};
	static const char *const dtd_names[] = {"xl/workbook.xml"};
	static const char *const dtd[] = {
	    "<!DOCTYPE workbook [<!ENTITY a \"aaaaaaaaaa\">"
	    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
	    "<workbook><sheets><sheet name=\"&b;\"/></sheets></workbook>"};
	static const char *const bomb_names[] = {"xl/workbook.xml"};
	const char *bomb[1];
	size_t bomb_len = TB_XLSX_MAX_PART + 1;
	struct book b;
	char *zeros;

	(void)state;
	make_zip(&b, plain, hello, NULL, 1);
	expect_refusal(b.path, NULL, TB_EINVAL,
		       "this is a zip archive, not a spreadsheet");
	remove_book(&b);

	make_zip(&b, dtd_names, dtd, NULL, 1);
	expect_refusal(b.path, NULL, TB_EINVAL,
		       "the workbook is damaged: a document type declaration "
		       "in xl/workbook.xml");
	remove_book(&b);

	zeros = calloc(1, bomb_len);
	assert_non_null(zeros);
	bomb[0] = zeros;
	make_zip(&b, bomb_names, bomb, &bomb_len, 1);
	free(zeros);
	expect_refusal(b.path, NULL, TB_ETOOBIG,
		       "xl/workbook.xml in the workbook is 64.0 MB");
	remove_book(&b);
}

/* Out of memory at each allocation in turn: TB_ENOMEM and nothing leaked
 * (valgrind), until the conversion goes through. */
static void test_out_of_memory(void **state)
{
	char msg[256], *text;
	long n;
	int rc = TB_ENOMEM;

	(void)state;
	for (n = 1; n < 10000 && rc == TB_ENOMEM; n++) {
		tb_mem_fail_at(n);
		rc = convert(DATA "clerk.xlsx", "Danh sách", &text, msg,
			     sizeof(msg));
		tb_mem_fail_at(0);
		if (rc == 0)
			assert_string_equal(text, clerk_csv);
		else if (rc != TB_ENOMEM)
			fail_msg("allocation %ld: rc %d (%s)", n, rc, msg);
		free(text);
	}
	assert_int_equal(rc, 0);
	assert_true(n > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clerk_sheets),
	    cmocka_unit_test(test_unknown_sheet),
	    cmocka_unit_test(test_not_xlsx),
	    cmocka_unit_test(test_looks_like_zip),
	    cmocka_unit_test(test_cell_ref),
	    cmocka_unit_test(test_cells),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_hostile_zips),
	    cmocka_unit_test(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
