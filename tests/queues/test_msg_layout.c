/* SPDX-License-Identifier: Apache-2.0 */
/* Messages built field by field in zeroed memory must equal upstream's bytes. */
#include <string.h>

#include "testutil.h"
#include "xsched/msg.h"

static void check(const char *name, const void *msg, size_t size)
{
	size_t len;
	uint8_t *want = t_read_vector(name, &len);

	T_EQ(len, size);
	T_BYTES(name, msg, want, size);
	free(want);
}

int main(void)
{
	struct xs_tpu_to_pack t;
	struct xs_progress p;

	memset(&t, 0, sizeof(t));
	t.transaction.offset = 0x1000;
	t.transaction.length = 101;
	t.flags = 1;
	t.src_addr[10] = 0xff;
	t.src_addr[11] = 0xff;
	t.src_addr[12] = 10;
	t.src_addr[15] = 1;
	check("msg_tpu_to_pack_k1.bin", &t, sizeof(t));

	memset(&p, 0, sizeof(p));
	p.leader_state = XS_LEADER_IS_LEADER;
	p.current_slot = 0x0102030405060708ull;
	p.next_leader_slot = 0x1112131415161718ull;
	p.leader_range_end = 0x2122232425262728ull;
	p.remaining_cost_units = 48000000;
	p.current_slot_progress = 42;
	check("msg_progress.bin", &p, sizeof(p));
	return 0;
}
