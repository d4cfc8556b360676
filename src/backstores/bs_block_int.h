/*
 * bs_block_int.h - the "block" backstore's open and O_DIRECT data path
 * (bs_block.c), shared with plugins that sit on a block device node and
 * add their own commands on top (bs_nvme.c: NVMe namespaces).
 *
 * bs_block_open() does everything the "block" plugin does at open (opens
 * the node O_DIRECT, geometry, queue limits, bs->caps) and sets bs->priv
 * to its own state; a plugin built on it keeps its state in the ext slot
 * (bs_block_ext / bs_block_set_ext), frees it itself, then calls
 * bs_block_close().  bs_block_submit() serves every struct bs_io op the
 * block way (reads/writes through io_uring or the pool with a bounce only
 * when unaligned, FLUSH = fdatasync, UNMAP/WRITE ZEROES by ioctl).
 */
#ifndef TPCD_BS_BLOCK_INT_H
#define TPCD_BS_BLOCK_INT_H

struct backstore;
struct bs_io;
struct conf_storage;

int	bs_block_open(struct backstore *, const struct conf_storage *);
void	bs_block_close(struct backstore *);
int	bs_block_submit(struct backstore *, struct bs_io *);
/* The derived plugin's state (borrowed by bs_block; NULL before set). */
void	*bs_block_ext(const struct backstore *);
void	bs_block_set_ext(struct backstore *, void *);

#endif
