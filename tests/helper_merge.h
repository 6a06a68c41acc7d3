/* helper_merge.h - a batch of fixture events merged into a server database
 * in-process, as an upload of one device would be (server/auth.h device
 * token, server/merge.h), for the tests that build report fixtures
 * (test_report, test_report_xlsx, test_report_pdf).
 */
#ifndef TB_TESTS_HELPER_MERGE_H
#define TB_TESTS_HELPER_MERGE_H

#include <stddef.h>

struct tb_sql;
struct tb_batch;

/* Merges b (its events added by the caller) as school's device number
 * device (uuid 11111111-2222-4333-8444-<device, 12 digits>), with the
 * device token: the batch must be answered 200 with every event accepted
 * and none rejected. Clears b in every case. 0, or -1 with msg saying
 * what went wrong. A batch with no event is not sent. */
int helper_merge_batch(struct tb_sql *db, const char *token,
		       const char *school, int device, struct tb_batch *b,
		       char *msg, size_t msglen);

#endif
