/*
 * tcmu_cfs.c - what the kernel shows about LIO user: devices in sysfs and
 * configfs: the uio name, the device's wwn/ and attrib/ values, LIO's NAA
 * designator, and the action/ attributes.
 *
 * Everything here is plain file reading under tcmu_paths, so the unit
 * tests run it on a tree of ordinary files shaped like the kernel's.
 * Formats (kernel 6.1, target_core_configfs.c / target_core_user.c):
 *
 *   /sys/class/uio/uioN/name	"tcm-user/<hba>/<dev>/<dev_config>\n"
 *				(or "tcm-user/<hba>/<dev>\n" without config)
 *   core/user_<hba>/<dev>/wwn/vpd_unit_serial
 *				"T10 VPD Unit Serial Number: <serial>\n"
 *   wwn/vendor_id, product_id, revision	"<text>\n"
 *   wwn/company_id		"%#08x\n" (e.g. "0x001405"; since 5.11)
 *   attrib/hw_block_size, hw_max_sectors, dev_size	"%u\n" / "%llu\n"
 *   attrib/emulate_write_cache	"%i\n"
 *   statistics/scsi_dev/indx	the device index (TCMU_ATTR_DEVICE_ID)
 *   info			"... Config: <cfg> Size: <bytes> ..."
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tcmu_int.h"
#include "util.h"

struct tcmu_paths tcmu_paths = {
	.configfs = "/sys/kernel/config/target",
	.uio_class = "/sys/class/uio",
	.dev_dir = "/dev",
};

#define TCMU_NAME_PREFIX	"tcm-user/"
#define LIO_SERIAL_PREFIX	"T10 VPD Unit Serial Number:"
#define LIO_COMPANY_ID		0x001405

/* Drop trailing white space (configfs values end in "\n"). */
static void
cfs_rstrip(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/*
 * Read a small text file into buf (NUL-terminated, trailing white space
 * removed).  Longer content is cut at len - 1 bytes.
 */
static int
cfs_read(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t r;
	int fd;

	if (len == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		r = read(fd, buf + got, len - 1 - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return (int)r;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	cfs_rstrip(buf);
	return 0;
}

static int
cfs_read_u64(const char *path, uint64_t *val)
{
	char buf[64], *end;
	unsigned long long v;
	int rc;

	rc = cfs_read(path, buf, sizeof(buf));
	if (rc)
		return rc;
	if (!isdigit((unsigned char)buf[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(buf, &end, 0);
	if (errno || *end != '\0')
		return -EINVAL;
	*val = v;
	return 0;
}

static int
cfs_read_u32(const char *path, uint32_t *val)
{
	uint64_t v;
	int rc;

	rc = cfs_read_u64(path, &v);
	if (rc)
		return rc;
	if (v > UINT32_MAX)
		return -ERANGE;
	*val = (uint32_t)v;
	return 0;
}

/* snprintf that reports truncation as -ENAMETOOLONG. */
static int __attribute__((format(printf, 3, 4)))
cfs_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int
cfs_devdir(const struct tcmu_devinfo *info, char *buf, size_t len)
{
	if (info->dev[0] == '\0' || strchr(info->dev, '/') != NULL ||
	    strcmp(info->dev, ".") == 0 || strcmp(info->dev, "..") == 0)
		return -EINVAL;
	return cfs_path(buf, len, "%s/core/user_%u/%s", tcmu_paths.configfs,
	    info->hba_id, info->dev);
}

/* Copy the component [s, e) into dst (size len). */
static int
name_part(char *dst, size_t len, const char *s, const char *e)
{
	size_t n = (size_t)(e - s);

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

int
tcmu_name_parse(const char *uio_name, struct tcmu_devinfo *info)
{
	const char *p, *slash, *end;
	unsigned long hba = 0;
	int rc;

	if (strncmp(uio_name, TCMU_NAME_PREFIX,
	    sizeof(TCMU_NAME_PREFIX) - 1) != 0)
		return -EINVAL;
	p = uio_name + sizeof(TCMU_NAME_PREFIX) - 1;
	/* The kernel's reconfig string may carry the writer's "\n". */
	end = p + strlen(p);
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;

	/* <hba_id>: decimal, no sign, fits 32 bits */
	if (p >= end || !isdigit((unsigned char)*p))
		return -EINVAL;
	while (p < end && isdigit((unsigned char)*p)) {
		hba = hba * 10 + (unsigned long)(*p - '0');
		if (hba > UINT32_MAX)
			return -EINVAL;
		p++;
	}
	if (p >= end || *p != '/')
		return -EINVAL;
	p++;

	/* <dev>: configfs names have no '/' */
	slash = memchr(p, '/', (size_t)(end - p));
	if (slash == NULL)
		slash = end;
	if (slash == p)
		return -EINVAL;
	rc = name_part(info->dev, sizeof(info->dev), p, slash);
	if (rc)
		return rc;
	info->hba_id = (uint32_t)hba;
	info->subtype[0] = '\0';
	info->cfg[0] = '\0';
	if (slash == end)
		return 0;

	/* <dev_config> = <subtype>[/<cfg>] */
	p = slash + 1;
	slash = memchr(p, '/', (size_t)(end - p));
	if (slash == NULL)
		slash = end;
	rc = name_part(info->subtype, sizeof(info->subtype), p, slash);
	if (rc)
		return rc;
	if (slash == end)
		return 0;
	return name_part(info->cfg, sizeof(info->cfg), slash + 1, end);
}

/* Fill what configfs tells about a scanned device; best effort. */
static void
cfs_scan_extras(struct tcmu_devinfo *info)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	uint32_t v;

	info->dev_id = 0;
	info->size = 0;
	info->wce = -1;
	if (cfs_devdir(info, dir, sizeof(dir)))
		return;
	if (!cfs_path(path, sizeof(path), "%s/statistics/scsi_dev/indx", dir))
		(void)cfs_read_u32(path, &info->dev_id);
	if (!cfs_path(path, sizeof(path), "%s/attrib/dev_size", dir))
		(void)cfs_read_u64(path, &info->size);
	if (!cfs_path(path, sizeof(path), "%s/attrib/emulate_write_cache",
	    dir) && cfs_read_u32(path, &v) == 0)
		info->wce = v != 0;
}

/* "uio<N>" -> N */
static int
uio_minor(const char *name, uint32_t *minor)
{
	unsigned long v;
	char *end;

	if (strncmp(name, "uio", 3) != 0 || !isdigit((unsigned char)name[3]))
		return -EINVAL;
	errno = 0;
	v = strtoul(name + 3, &end, 10);
	if (errno || *end != '\0' || v > UINT32_MAX)
		return -EINVAL;
	*minor = (uint32_t)v;
	return 0;
}

static int
scan_cmp(const void *a, const void *b)
{
	const struct tcmu_devinfo *x = a, *y = b;

	return (x->minor > y->minor) - (x->minor < y->minor);
}

int
tcmu_cfs_scan(const char *subtype, struct tcmu_devinfo **out,
    unsigned int *n)
{
	struct tcmu_devinfo *v = NULL, *nv, info;
	char path[PATH_MAX], name[TCMU_NAME_MAX + TCMU_CFG_MAX + 64];
	unsigned int cnt = 0, cap = 0;
	struct dirent *de;
	uint32_t minor;
	DIR *d;

	*out = NULL;
	*n = 0;
	d = opendir(tcmu_paths.uio_class);
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		if (uio_minor(de->d_name, &minor))
			continue;
		if (cfs_path(path, sizeof(path), "%s/%s/name",
		    tcmu_paths.uio_class, de->d_name))
			continue;
		if (cfs_read(path, name, sizeof(name)))
			continue;
		memset(&info, 0, sizeof(info));
		if (tcmu_name_parse(name, &info))
			continue;	/* another uio driver */
		if (subtype != NULL && strcmp(info.subtype, subtype) != 0)
			continue;
		info.minor = minor;
		cfs_scan_extras(&info);
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			nv = xrealloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				closedir(d);
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[cnt++] = info;
	}
	closedir(d);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), scan_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

/* Read wwn/<name> into dst (size len); a missing file leaves dst alone. */
static int
ident_str(const char *dir, const char *name, char *dst, size_t len)
{
	char path[PATH_MAX + 64], buf[256];
	int rc;

	if (cfs_path(path, sizeof(path), "%s/%s", dir, name))
		return -ENAMETOOLONG;
	rc = cfs_read(path, buf, sizeof(buf));
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	strlcpy_t(dst, buf, len);
	return 0;
}

static int
ident_serial(const char *dir, struct tcmu_ident *id)
{
	char path[PATH_MAX + 64], buf[256];
	const char *p;
	int rc;

	if (cfs_path(path, sizeof(path), "%s/wwn/vpd_unit_serial", dir))
		return -ENAMETOOLONG;
	rc = cfs_read(path, buf, sizeof(buf));
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	p = buf;
	if (strncmp(p, LIO_SERIAL_PREFIX, sizeof(LIO_SERIAL_PREFIX) - 1) == 0)
		p += sizeof(LIO_SERIAL_PREFIX) - 1;
	while (*p == ' ')
		p++;
	strlcpy_t(id->serial, p, sizeof(id->serial));
	return 0;
}

static int
ident_u32(const char *dir, const char *name, uint32_t *val)
{
	char path[PATH_MAX + 64];
	int rc;

	if (cfs_path(path, sizeof(path), "%s/%s", dir, name))
		return -ENAMETOOLONG;
	rc = cfs_read_u32(path, val);
	return rc == -ENOENT ? 0 : rc;
}

/* dev_size from attrib/dev_size, else from "Size: <n>" in info. */
static void
ident_size(const char *dir, struct tcmu_ident *id)
{
	char path[PATH_MAX + 64], buf[1024 + TCMU_CFG_MAX];
	unsigned long long v;
	const char *p;
	char *end;

	if (!cfs_path(path, sizeof(path), "%s/attrib/dev_size", dir) &&
	    cfs_read_u64(path, &id->size) == 0)
		return;
	if (cfs_path(path, sizeof(path), "%s/info", dir) ||
	    cfs_read(path, buf, sizeof(buf)))
		return;
	/* the config string comes before: take the last "Size: " */
	p = NULL;
	for (const char *q = buf; (q = strstr(q, " Size: ")) != NULL; q++)
		p = q;
	if (p == NULL)
		return;
	p += strlen(" Size: ");
	if (!isdigit((unsigned char)*p))
		return;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno == 0 && (*end == '\0' || isspace((unsigned char)*end)))
		id->size = v;
}

int
tcmu_cfs_ident(const struct tcmu_devinfo *info, struct tcmu_ident *id)
{
	char dir[PATH_MAX];
	int rc;

	memset(id, 0, sizeof(*id));
	id->company_id = LIO_COMPANY_ID;
	rc = cfs_devdir(info, dir, sizeof(dir));
	if (rc)
		return rc;
	if (access(dir, F_OK) != 0)
		return -errno;
	if ((rc = ident_serial(dir, id)) != 0 ||
	    (rc = ident_str(dir, "wwn/vendor_id", id->vendor,
	    sizeof(id->vendor))) != 0 ||
	    (rc = ident_str(dir, "wwn/product_id", id->product,
	    sizeof(id->product))) != 0 ||
	    (rc = ident_str(dir, "wwn/revision", id->revision,
	    sizeof(id->revision))) != 0 ||
	    (rc = ident_u32(dir, "wwn/company_id", &id->company_id)) != 0 ||
	    (rc = ident_u32(dir, "attrib/hw_block_size",
	    &id->block_size)) != 0 ||
	    (rc = ident_u32(dir, "attrib/hw_max_sectors",
	    &id->max_sectors)) != 0)
		return rc;
	if (id->company_id > 0xffffff)
		return -ERANGE;
	ident_size(dir, id);
	return 0;
}

/*
 * LIO's spc_gen_naa_6h_vendor_specific(): NAA 6h, the 24-bit company id,
 * then the hex digits of the unit serial (anything else skipped) as the
 * 36-bit vendor specific identifier and its 64-bit extension, i.e. up to
 * 25 nibbles from the low half of byte 3 to the end of byte 15.
 */
void
tcmu_lio_naa(const char *serial, uint32_t company_id, uint8_t naa[16])
{
	unsigned int off = 3;
	bool high = false;
	int v;

	memset(naa, 0, 16);
	naa[0] = (uint8_t)(0x60 | ((company_id >> 20) & 0x0f));
	naa[1] = (uint8_t)(company_id >> 12);
	naa[2] = (uint8_t)(company_id >> 4);
	naa[3] = (uint8_t)((company_id & 0x0f) << 4);
	for (const char *p = serial; *p != '\0' && off < 16; p++) {
		v = hex_digit((unsigned char)*p);
		if (v < 0)
			continue;
		if (high) {
			naa[off] = (uint8_t)(v << 4);
		} else {
			naa[off] |= (uint8_t)v;
			off++;
		}
		high = !high;
	}
}

int
tcmu_cfs_action(const struct tcmu_devinfo *info, const char *action,
    const char *val)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	size_t len = strlen(val), done = 0;
	ssize_t w;
	int fd, rc;

	if (action[0] == '\0' || strchr(action, '/') != NULL ||
	    action[0] == '.')
		return -EINVAL;
	rc = cfs_devdir(info, dir, sizeof(dir));
	if (rc)
		return rc;
	rc = cfs_path(path, sizeof(path), "%s/action/%s", dir, action);
	if (rc)
		return rc;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (done < len) {
		w = write(fd, val + done, len - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		done += (size_t)w;
	}
	close(fd);
	if (rc == 0)
		log_dbg("tcmu: %s/action/%s <- %s", dir, action, val);
	return rc;
}
