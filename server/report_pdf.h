/* report_pdf.h - the printed report: a computed report (server/report.h)
 * as a PDF laid out as a Vietnamese administrative report, the one the
 * plans ask units to send in June and December.
 *
 * Called through tb_report_write (server/report_out.c) by the `report`
 * command (--format pdf --output FILE) and GET /v1/report?format=pdf.
 * Drawn with cairo's PDF surface; text shaped, wrapped and measured by
 * Pango, so Vietnamese with stacked diacritics ("Hường", "Đà Bắc") comes
 * out as the font's precomposed glyphs and reads back as the same NFC
 * text (pdftotext). The font is Liberation Serif (Times-metric, the
 * convention of Nghị định 30/2020/NĐ-CP; fonts-liberation2), then DejaVu
 * Serif, embedded as subsets.
 *
 * The page (A4 portrait; margins top 20, bottom 20, left 30, right 15 mm,
 * as Nghị định 30 asks):
 *   issuing office (left, uppercase)   national motto (right, the second
 *   "Số:      /BC-" (to fill by hand)   line ruled), "<place>, ngày 05
 *                                       tháng 8 năm 2025" (generated_at in
 *                                       UTC+7; days under 10 and months 1-2
 *                                       with a leading zero, as ND 30 says)
 *   BÁO CÁO / Kết quả thực hiện <plan> <6 tháng đầu năm 2025 ...> / the
 *   period's dates, an opening sentence;
 *   I.   the indicators: STT, Chỉ tiêu (id and name), Mục tiêu, Kết quả
 *        (the period's value, and the cumulative one for cumulative
 *        formulas), Tiến độ %, Đánh giá; the header repeats on every page
 *        and no row is split across pages;
 *   II.  completeness: units expected, reported, on time, and the units
 *        that have not reported (code, name, district);
 *   III. the Action Month of the report's year;
 *   the signature block (NGƯỜI LẬP BÁO CÁO, THỦ TRƯỞNG ĐƠN VỊ) with
 *   "Nơi nhận:" on the left, kept on one page; page numbers at the top
 *   centre from page 2 on (ND 30).
 * Numbers are written for people: 19.450 lượt, 71,25%.
 */
#ifndef TB_SERVER_REPORT_PDF_H
#define TB_SERVER_REPORT_PDF_H

#include <stdio.h>

#include "server/report.h"

/* Writes r as a PDF to f (r borrowed; f left open, not flushed). Needs
 * no writable HOME: fonts come from the system's fontconfig cache.
 * 0; TB_ENOMEM; TB_EIO when f refused a write or cairo failed. On
 * failure part of a PDF may have been written. Thread-safe: each
 * document has its own Pango font map, freed with it. */
int tb_report_pdf(const struct tb_report *r, FILE *f);

#endif
