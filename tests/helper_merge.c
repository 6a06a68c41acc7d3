/* helper_merge.c - fixture batches merged in-process (see helper_merge.h). */
#include "tests/helper_merge.h"

#include <stdio.h>

#include "protocol/codec.h"
#include "server/sql.h"
#include "server/auth.h"
#include "server/merge.h"

int helper_merge_batch(struct tb_sql *db, const char *token,
		       const char *school, int device, struct tb_batch *b,
		       char *msg, size_t msglen)
{
	struct tb_principal p;
	struct tb_ack ack;
	struct tb_merge_result res = {0};
	int rc = 0;

	snprintf(b->school, sizeof(b->school), "%s", school);
	snprintf(b->device, sizeof(b->device), "11111111-2222-4333-8444-%012d",
		 device);
	if (!b->count)
		goto out;
	if (tb_auth_device(db, token, &p) != 0) {
		snprintf(msg, msglen, "%s: the device token is refused", school);
		rc = -1;
		goto out;
	}
	tb_ack_init(&ack);
	if (tb_merge_batch(db, &p, b, &ack, &res) != 0 || res.status != 200 ||
	    ack.nrejected != 0 || ack.accepted != (int64_t)b->count) {
		snprintf(msg, msglen, "%s: batch of %zu answered %d, %lld "
			 "accepted, %zu rejected", school, b->count,
			 (int)res.status, (long long)ack.accepted, ack.nrejected);
		rc = -1;
	}
	tb_ack_clear(&ack);
out:
	tb_batch_clear(b);
	return rc;
}
