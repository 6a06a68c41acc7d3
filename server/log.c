/* log.c - one-line log messages on stderr (see log.h).
 *
 * The line is built in a stack buffer and written with one write(2), so
 * concurrent workers never mix their lines; no locks are taken.
 */
#include "server/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int slog_level = TB_SLOG_INFO;

static const char *const slog_names[] = { "debug", "info", "warn", "error" };

void tb_slog_set_level(enum tb_slog_level level)
{
	atomic_store(&slog_level, (int)level);
}

void tb_slog_v(enum tb_slog_level level, const char *fmt, va_list ap)
{
	char line[TB_SLOG_LINE];
	size_t len;
	int n;
	time_t now;
	struct tm tm;

	if ((int)level < atomic_load(&slog_level))
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	n = snprintf(line + len, sizeof(line) - len, "%s ",
		     slog_names[level <= TB_SLOG_ERROR ? level : TB_SLOG_ERROR]);
	if (n > 0)
		len += (size_t)n;
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n > 0)
		len += (size_t)n < sizeof(line) - len ? (size_t)n
						      : sizeof(line) - len - 1;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\0'))
		len--;
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write: a short write on stderr is not worth a retry loop. */
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}

void tb_slog(enum tb_slog_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tb_slog_v(level, fmt, ap);
	va_end(ap);
}
