/* log.h - one-line log messages of tienbo-server on stderr.
 *
 * Called from every server module and from libmicrohttpd's error logger.
 * Each message is one line "2025-11-20T08:15:00Z LEVEL message", written
 * with a single write(2) so lines from worker threads never interleave.
 * Messages longer than TB_SLOG_LINE bytes are cut. Thread-safe.
 */
#ifndef TB_SERVER_LOG_H
#define TB_SERVER_LOG_H

#include <stdarg.h>

#define TB_SLOG_LINE 1024

enum tb_slog_level { TB_SLOG_DEBUG, TB_SLOG_INFO, TB_SLOG_WARN, TB_SLOG_ERROR };

/* Messages below `level` are dropped (default TB_SLOG_INFO). */
void tb_slog_set_level(enum tb_slog_level level);
void tb_slog(enum tb_slog_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tb_slog_v(enum tb_slog_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
