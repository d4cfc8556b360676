#!/usr/bin/env python3
"""make-seeds.py - write the seed corpora in tests/fuzz/corpus/<target>/.

The seeds are small valid inputs in each target's input format (see the
comment at the top of tests/fuzz/fuzz_<target>.c): login text as libiscsi
sends it, CHAP exchanges with correct and wrong answers, the sample
configurations, common CDBs, and PDU streams (a login, SCSI commands with
and without data, Data-Out, NOP, Text, TMF, Logout).  The committed files
are this script's output; re-run it after changing an input format:

    python3 tests/fuzz/make-seeds.py            # from the source tree
"""
import base64
import hashlib
import os
import struct
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
OUT = os.path.join(TOP, "tests", "fuzz", "corpus")

INITIATOR = b"iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test"
TARGET = b"iqn.2026-11.org.tpcd:fuzz"
CHAP_TARGET = b"iqn.2026-11.org.tpcd:fuzz-chap"
CHAP_INIT = b"iqn.2026-11.org.tpcd:fuzz-init"


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def text(*pairs):
    return b"".join(k + b"=" + v + b"\0" for k, v in pairs)


SECURITY = text((b"InitiatorName", INITIATOR),
                (b"InitiatorAlias", b"libiscsi"),
                (b"TargetName", TARGET),
                (b"SessionType", b"Normal"),
                (b"AuthMethod", b"None"))
OPERATIONAL = text((b"HeaderDigest", b"None"),
                   (b"DataDigest", b"None"),
                   (b"DefaultTime2Wait", b"2"),
                   (b"DefaultTime2Retain", b"0"),
                   (b"IFMarker", b"No"),
                   (b"OFMarker", b"No"),
                   (b"ErrorRecoveryLevel", b"0"),
                   (b"InitialR2T", b"No"),
                   (b"ImmediateData", b"Yes"),
                   (b"MaxBurstLength", b"262144"),
                   (b"FirstBurstLength", b"262144"),
                   (b"MaxOutstandingR2T", b"1"),
                   (b"MaxConnections", b"1"),
                   (b"DataPDUInOrder", b"Yes"),
                   (b"DataSequenceInOrder", b"Yes"),
                   (b"MaxRecvDataSegmentLength", b"262144"))
ONE_STAGE = text((b"InitiatorName", INITIATOR),
                 (b"InitiatorAlias", b"libiscsi"),
                 (b"TargetName", TARGET),
                 (b"SessionType", b"Normal")) + OPERATIONAL
DISCOVERY = text((b"InitiatorName", INITIATOR),
                 (b"SessionType", b"Discovery"),
                 (b"AuthMethod", b"None"))

# ---------------------------------------------------------------- CRC32C


def _crc_table():
    tab = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        tab.append(c)
    return tab


CRC_TAB = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TAB[(c ^ b) & 0xFF] ^ (c >> 8)
    return struct.pack("<I", c ^ 0xFFFFFFFF)

# ---------------------------------------------------------------- PDUs


def pdu(bhs, data=b"", ahs=b"", hd=False, dd=False):
    bhs = bytearray(bhs)
    assert len(bhs) == 48 and len(ahs) % 4 == 0
    bhs[4] = len(ahs) // 4
    bhs[5:8] = struct.pack(">I", len(data))[1:]
    out = bytes(bhs) + ahs
    if hd:
        out += crc32c(bytes(bhs) + ahs)
    if data:
        padded = data + b"\0" * (-len(data) % 4)
        out += padded
        if dd:
            out += crc32c(padded)
    return out


ISID = bytes([0x80, 0x00, 0x02, 0x3d, 0x00, 0x01])


def login(data, csg, nsg, transit=True, itt=1, cmdsn=1, isid=ISID, tsih=0,
          cont=False):
    b = bytearray(48)
    b[0] = 0x43
    b[1] = (0x80 if transit else 0) | (0x40 if cont else 0) | \
        (csg << 2) | nsg
    b[8:14] = isid
    b[14:16] = struct.pack(">H", tsih)
    b[16:20] = struct.pack(">I", itt)
    b[24:28] = struct.pack(">I", cmdsn)
    return pdu(b, data)


def lun_field(lun):
    return struct.pack(">H", lun) + b"\0" * 6


def scsi_cmd(cdb, itt, cmdsn, edtl=0, read=False, write=False, lun=0,
             data=b"", final=True, imm=False):
    b = bytearray(48)
    b[0] = 0x01 | (0x40 if imm else 0)
    b[1] = (0x80 if final else 0) | (0x40 if read else 0) | \
        (0x20 if write else 0) | 1
    b[8:16] = lun_field(lun)
    b[16:20] = struct.pack(">I", itt)
    b[20:24] = struct.pack(">I", edtl)
    b[24:28] = struct.pack(">I", cmdsn)
    cdb = cdb + b"\0" * (16 - len(cdb))
    b[32:48] = cdb[:16]
    return pdu(b, data)


def data_out(itt, ttt, offset, data, datasn=0, final=True, lun=0):
    b = bytearray(48)
    b[0] = 0x05
    b[1] = 0x80 if final else 0
    b[8:16] = lun_field(lun)
    b[16:20] = struct.pack(">I", itt)
    b[20:24] = struct.pack(">I", ttt)
    b[36:40] = struct.pack(">I", datasn)
    b[40:44] = struct.pack(">I", offset)
    return pdu(b, data)


def nop_out(itt, cmdsn, data=b"", imm=True):
    b = bytearray(48)
    b[0] = 0x00 | (0x40 if imm else 0)
    b[1] = 0x80
    b[16:20] = struct.pack(">I", itt)
    b[20:24] = struct.pack(">I", 0xFFFFFFFF)
    b[24:28] = struct.pack(">I", cmdsn)
    return pdu(b, data)


def text_req(data, itt, cmdsn, ttt=0xFFFFFFFF, cont=False):
    b = bytearray(48)
    b[0] = 0x04
    b[1] = 0x40 if cont else 0x80
    b[16:20] = struct.pack(">I", itt)
    b[20:24] = struct.pack(">I", ttt)
    b[24:28] = struct.pack(">I", cmdsn)
    return pdu(b, data)


def tmf(func, itt, cmdsn, rtt=0xFFFFFFFF, ref_cmdsn=0, lun=0):
    b = bytearray(48)
    b[0] = 0x42
    b[1] = 0x80 | func
    b[8:16] = lun_field(lun)
    b[16:20] = struct.pack(">I", itt)
    b[20:24] = struct.pack(">I", rtt)
    b[24:28] = struct.pack(">I", cmdsn)
    b[32:36] = struct.pack(">I", ref_cmdsn)
    return pdu(b)


def logout(itt, cmdsn, reason=0):
    b = bytearray(48)
    b[0] = 0x46
    b[1] = 0x80 | reason
    b[16:20] = struct.pack(">I", itt)
    b[24:28] = struct.pack(">I", cmdsn)
    return pdu(b)

# ---------------------------------------------------------------- CDBs


def be16(v):
    return struct.pack(">H", v)


def be32(v):
    return struct.pack(">I", v)


def be64(v):
    return struct.pack(">Q", v)


CDBS = {
    "tur": (b"\x00" + b"\0" * 5, 0, 0),
    "request_sense": (b"\x03\0\0\0\xfc\0", 1, 252),
    "inquiry": (b"\x12\0\0\0\xff\0", 1, 255),
    "inquiry_vpd00": (b"\x12\x01\x00\x00\xff\0", 1, 255),
    "inquiry_vpd80": (b"\x12\x01\x80\x00\xff\0", 1, 255),
    "inquiry_vpd83": (b"\x12\x01\x83\x01\x00\0", 1, 256),
    "inquiry_vpdb0": (b"\x12\x01\xb0\x00\x40\0", 1, 64),
    "inquiry_vpdb1": (b"\x12\x01\xb1\x00\x40\0", 1, 64),
    "inquiry_vpdb2": (b"\x12\x01\xb2\x00\x40\0", 1, 64),
    "inquiry_vpd8f": (b"\x12\x01\x8f\x10\x00\0", 1, 4096),
    "read_capacity10": (b"\x25" + b"\0" * 9, 1, 8),
    "read_capacity16": (b"\x9e\x10" + b"\0" * 8 + be32(32) + b"\0\0", 1, 32),
    "get_lba_status": (b"\x9e\x12" + be64(0) + be32(24) + b"\0\0", 1, 24),
    "read10": (b"\x28\0" + be32(0) + b"\0" + be16(8) + b"\0", 1, 4096),
    "read16": (b"\x88\0" + be64(16) + be32(8) + b"\0\0", 1, 4096),
    "read6": (b"\x08\0\0\x10\x08\0", 1, 4096),
    "read12": (b"\xa8\0" + be32(4) + be32(2) + b"\0\0", 1, 1024),
    "write10": (b"\x2a\0" + be32(8) + b"\0" + be16(2) + b"\0", 2, 1024),
    "write16_fua": (b"\x8a\x08" + be64(32) + be32(1) + b"\0\0", 2, 512),
    "write_verify10": (b"\x2e\0" + be32(8) + b"\0" + be16(1) + b"\0", 2, 512),
    "verify16": (b"\x8f\0" + be64(0) + be32(8) + b"\0\0", 0, 0),
    "compare_and_write": (b"\x89\0" + be64(4) + b"\0\0\0\x01\0\0", 2, 1024),
    "write_same16": (b"\x93\0" + be64(0) + be32(16) + b"\0\0", 2, 512),
    "write_same16_unmap": (b"\x93\x08" + be64(64) + be32(64) + b"\0\0",
                           2, 512),
    "unmap": (b"\x42\0\0\0\0\0\0" + be16(24) + b"\0", 2, 24),
    "sync_cache10": (b"\x35" + b"\0" * 9, 0, 0),
    "sync_cache16": (b"\x91" + b"\0" * 15, 0, 0),
    "mode_sense6": (b"\x1a\x00\x3f\x00\xff\0", 1, 255),
    "mode_sense6_dbd": (b"\x1a\x08\x08\x00\xff\0", 1, 255),
    "mode_sense10": (b"\x5a\x00\x3f\x00\0\0\0" + be16(1024) + b"\0", 1,
                     1024),
    "mode_sense10_llbaa": (b"\x5a\x10\x0a\x00\0\0\0" + be16(512) + b"\0", 1,
                           512),
    "mode_select6": (b"\x15\x10\0\0\x18\0", 2, 24),
    "mode_select10": (b"\x55\x10\0\0\0\0\0" + be16(28) + b"\0", 2, 28),
    "report_luns": (b"\xa0\0\0\0\0\0" + be32(1024) + b"\0\0", 1, 1024),
    "rsoc_all": (b"\xa3\x0c\0\0\0\0" + be32(8192) + b"\0\0", 1, 8192),
    "rsoc_one": (b"\xa3\x0c\x01\x28\0\0" + be32(64) + b"\0\0", 1, 64),
    "rsoc_sa": (b"\xa3\x0c\x02\x9e\x00\x10" + be32(64) + b"\0\0", 1, 64),
    "report_tmf": (b"\xa3\x0d\0\0\0\0" + be32(16) + b"\0\0", 1, 16),
    "start_stop": (b"\x1b\0\0\0\x01\0", 0, 0),
    "prevent_allow": (b"\x1e\0\0\0\x01\0", 0, 0),
    "reserve6": (b"\x16\0\0\0\0\0", 0, 0),
    "release6": (b"\x17\0\0\0\0\0", 0, 0),
    "pr_in_read_keys": (b"\x5e\x00" + b"\0" * 5 + be16(256) + b"\0", 1,
                        256),
    "pr_in_caps": (b"\x5e\x02" + b"\0" * 5 + be16(8) + b"\0", 1, 8),
    "pr_out_register": (b"\x5f\x00\x00\0\0" + be32(24) + b"\0", 2, 24),
    "receive_copy_results": (b"\x84\x03" + b"\0" * 8 + be32(1024) +
                             b"\0\0", 1, 1024),
    "extended_copy": (b"\x83\x00" + b"\0" * 8 + be32(64) + b"\0\0", 2, 64),
    "log_sense": (b"\x4d\x00\x00\0\0\0\0" + be16(255) + b"\0", 1, 255),
    "format_unit": (b"\x04\0\0\0\0\0", 0, 0),
    "sanitize": (b"\x48\x01\0\0\0\0\0\0\0\0", 0, 0),
    "ata_pt16": (b"\x85\x08\x0e" + b"\0" * 13, 1, 512),
    "cdb32_var": (b"\x7f\0\0\0\0\0\0\x18\x00\x09" + b"\0" * 22, 1, 512),
}


def cdb_data(name, length):
    if name == "mode_select6":
        # header (4) + caching page 08h (20): WCE off
        return b"\0\0\0\0" + b"\x08\x12\x00" + b"\0" * 17
    if name == "mode_select10":
        # header (8) + control page 0Ah (12): D_SENSE on
        return b"\0" * 8 + b"\x0a\x0a\x04" + b"\0" * 9
    if name == "unmap":
        return be16(22) + be16(16) + b"\0" * 4 + be64(100) + be32(8) + \
            b"\0" * 4
    if name == "pr_out_register":
        return be64(0) + be64(0x1234) + b"\0" * 8
    return bytes((i * 7 + 1) & 0xff for i in range(length))


def cdb_record(cdb, dirn, length, flags=0, data=None, lunsel=0):
    f = dirn | (lunsel << 2) | flags
    rec = bytes([len(cdb) & 0x3f or 0, f]) + be16(length) + b"\x40\x80"
    rec += cdb
    if dirn in (2, 3):
        rec += data if data is not None else b"\0" * length
    return rec

# ---------------------------------------------------------------- targets


def seeds_text_keys():
    def rounds(*rs):
        return b"".join(bytes([st]) + be16(len(d)) + d for st, d in rs)
    write("text_keys", "login_two_stage",
          b"\x01\x00" + rounds((0, SECURITY), (1, OPERATIONAL)))
    write("text_keys", "login_one_stage",
          b"\x01\x00" + rounds((1, ONE_STAGE)))
    write("text_keys", "discovery",
          b"\x03\x00" + rounds((0, DISCOVERY), (1, text(
              (b"MaxRecvDataSegmentLength", b"32768"),
              (b"HeaderDigest", b"None"), (b"DataDigest", b"None")))))
    write("text_keys", "ffp_sendtargets",
          b"\x03\x00" + rounds((3, text((b"SendTargets", b"All"))),
                               (3, text((b"MaxRecvDataSegmentLength",
                                         b"65536")))))
    conf = (b"MaxRecvDataSegmentLength=65536\nHeaderDigest=CRC32C,None\n"
            b"FirstBurstLength=1048576\nMaxBurstLength=524288\n"
            b"MaxOutstandingR2T=4\nInitialR2T=Yes\n")
    write("text_keys", "with_conf",
          bytes([0x05, len(conf)]) + conf + rounds(
              (1, text((b"HeaderDigest", b"CRC32C,None"),
                       (b"DataDigest", b"CRC32C"),
                       (b"MaxBurstLength", b"0x100000"),
                       (b"FirstBurstLength", b"16777215"),
                       (b"MaxOutstandingR2T", b"65535"),
                       (b"iSCSIProtocolLevel", b"1"),
                       (b"TaskReporting", b"FastAbort,RFC3720")))))
    write("text_keys", "chap",
          b"\x01\x00" + rounds(
              (0, text((b"InitiatorName", INITIATOR),
                       (b"TargetName", CHAP_TARGET),
                       (b"SessionType", b"Normal"),
                       (b"AuthMethod", b"CHAP,None"))),
              (0, text((b"CHAP_A", b"7,5"))),
              (0, text((b"CHAP_N", b"fuzz-user"),
                       (b"CHAP_R", b"0x" + b"ab" * 16),
                       (b"CHAP_I", b"17"),
                       (b"CHAP_C", b"0x" + b"01" * 16)))))
    write("text_keys", "odd_keys",
          b"\x00\x00" + rounds(
              (1, text((b"X-com.example.Foo", b"1"),
                       (b"X#org.example", b"bar"),
                       (b"Unknown", b"Key"),
                       (b"OFMarkInt", b"2048~8192"),
                       (b"IFMarker", b"Yes"),
                       (b"MaxConnections", b"0"),
                       (b"DefaultTime2Wait", b"3601"),
                       (b"ErrorRecoveryLevel", b"2"),
                       (b"TargetAlias", b"nope"),
                       (b"MaxRecvDataSegmentLength", b"511"))),
              (3, text((b"MaxBurstLength", b"512")))))


def seeds_chap():
    chal = bytes(range(0x10, 0x30))[:20]
    ours_id, secret = 17, b"fuzz-secret-1"
    resp = hashlib.md5(bytes([ours_id]) + secret + chal).digest()
    init_chal = bytes(range(0x40, 0x60))

    def rec(max_, flags, id_, chal_, strs):
        return bytes([max_, flags, id_, (len(chal_) - 1) & 31]) + chal_ + \
            b"\0".join(strs)
    write("chap", "verify_hex",
          rec(64, 0x01, ours_id, chal,
              [b"5", b"fuzz-user", b"0x" + resp.hex().encode(), b"23",
               b"0x" + init_chal.hex().encode(), secret]))
    write("chap", "verify_b64",
          rec(200, 0x81, ours_id, chal,
              [b"7,5", b"fuzz-user", b"0b" + base64.b64encode(resp), b"0x17",
               b"0b" + base64.b64encode(init_chal), secret]))
    write("chap", "wrong_response",
          rec(16, 0x01, ours_id, chal,
              [b"5,7", b"u", b"0X" + resp.hex().upper().encode()[:-2] +
               b"00", b"255", b"0x" + b"f" * 33, b"secret"]))
    write("chap", "reflection",
          rec(32, 0x03, 3, chal,
              [b"5", b"u", b"0x1", b"3", b"0x" + chal.hex().encode(),
               secret]))
    write("chap", "no_challenge",
          rec(0, 0x00, 0, b"\0",
              [b"", b"", b"0b====", b"256", b"0bQUJD", b""]))


def seeds_conf():
    write("conf", "empty_object", b"{}\n")
    write("conf", "tpcd_ext",
          b'{"tpcd": {"loops": 2, "nop_interval": 10, "nop_timeout": 30,'
          b' "login_timeout": 15}, "storage_objects": [], "targets": []}\n')
    with open(os.path.join(TOP, "conf", "saveconfig.json"), "rb") as f:
        write("conf", "saveconfig.json", f.read())
    cdir = os.path.join(TOP, "tests", "integration", "conf")
    for name in sorted(os.listdir(cdir)):
        if name.endswith(".json"):
            with open(os.path.join(cdir, name), "rb") as f:
                write("conf", "integration_" + name,
                      f.read().replace(b"@PORT@", b"3260"))


def seeds_cdb():
    for name, (cdb, dirn, length) in sorted(CDBS.items()):
        data = cdb_data(name, length) if dirn == 2 else None
        write("cdb", name, cdb_record(cdb, dirn, length, data=data))
    # sequences on one nexus
    seq = cdb_record(b"\x12\0\0\0\xff\0", 1, 255, flags=0x10)
    seq += cdb_record(b"\x00" * 6, 0, 0, flags=0x10)
    seq += cdb_record(b"\x2a\0" + be32(0) + b"\0" + be16(8) + b"\0", 2,
                      4096, flags=0x20, data=b"\x5a" * 4096)
    seq += cdb_record(b"\x28\0" + be32(0) + b"\0" + be16(8) + b"\0", 1,
                      4096, flags=0x20)
    write("cdb", "seq_ua_write_read", seq)
    seq = cdb_record(b"\x2a\0" + be32(0) + b"\0" + be16(1) + b"\0", 2, 512,
                     lunsel=1, data=b"\1" * 512)
    seq += cdb_record(b"\x28\0" + be32(0) + b"\0" + be16(1) + b"\0", 1, 4096,
                      lunsel=2)
    seq += cdb_record(b"\x12\0\0\0\xff\0", 1, 255, lunsel=3)
    seq += cdb_record(b"\xa0\0\0\0\0\0" + be32(1024) + b"\0\0", 1, 1024,
                      lunsel=3)
    write("cdb", "seq_luns", seq)
    seq = cdb_record(b"\x16\0\0\0\0\0", 0, 0)
    seq += cdb_record(b"\x5f\x00\x00\0\0" + be32(24) + b"\0", 2, 24,
                      data=be64(0) + be64(0x1234) + b"\0" * 8)
    seq += cdb_record(b"\x5f\x01\x01\0\0" + be32(24) + b"\0", 2, 24,
                      data=be64(0x1234) + be64(0) + b"\0" * 8)
    seq += cdb_record(b"\x5e\x01" + b"\0" * 5 + be16(256) + b"\0", 1, 256)
    seq += cdb_record(b"\x2a\0" + be32(0) + b"\0" + be16(1) + b"\0", 2, 512)
    seq += cdb_record(b"\x17\0\0\0\0\0", 0, 0)
    write("cdb", "seq_reservations", seq)


def login_stream(one_stage=True):
    if one_stage:
        s = login(ONE_STAGE, 1, 3)
    else:
        s = login(SECURITY, 0, 1) + login(OPERATIONAL, 1, 3, itt=2)
    return s


def ffp_commands(start_itt=0x10):
    s = b""
    itt, sn = start_itt, 1
    for name in ("inquiry", "report_luns", "read_capacity16", "tur"):
        cdb, dirn, length = CDBS[name]
        s += scsi_cmd(cdb, itt, sn, edtl=length, read=dirn == 1)
        itt += 1
        sn += 1
    # WRITE(10) of 2 blocks with immediate data, then READ(10)
    s += scsi_cmd(b"\x2a\0" + be32(8) + b"\0" + be16(2) + b"\0", itt, sn,
                  edtl=1024, write=True, data=b"\xa5" * 1024)
    itt += 1
    sn += 1
    s += scsi_cmd(b"\x28\0" + be32(8) + b"\0" + be16(2) + b"\0", itt, sn,
                  edtl=1024, read=True)
    itt += 1
    sn += 1
    return s, itt, sn


def seeds_login():
    cmds, itt, sn = ffp_commands()
    write("login", "one_stage_io_logout",
          login_stream(True) + cmds + logout(itt, sn))
    write("login", "two_stage_io_logout",
          login_stream(False) + cmds + nop_out(itt, sn, b"ping") +
          logout(itt + 1, sn))
    write("login", "discovery_sendtargets",
          login(DISCOVERY + text((b"MaxRecvDataSegmentLength", b"65536")),
                0, 3) +
          text_req(text((b"SendTargets", b"All")), 2, 1) +
          logout(3, 2))
    write("login", "chap_start",
          login(text((b"InitiatorName", CHAP_INIT),
                     (b"TargetName", CHAP_TARGET),
                     (b"SessionType", b"Normal"),
                     (b"AuthMethod", b"CHAP")), 0, 1, transit=False) +
          login(text((b"CHAP_A", b"5")), 0, 1, transit=False, itt=2) +
          login(text((b"CHAP_N", b"fuzz-user"),
                     (b"CHAP_R", b"0x" + b"00" * 16)), 0, 1, itt=3))
    # WRITE without immediate data: Data-Out answering the first R2T
    # (the connection's TTTs start at 1), then an ABORT TASK and a
    # LUN RESET.
    s = login_stream(True)
    s += scsi_cmd(b"\x2a\0" + be32(0) + b"\0" + be16(16) + b"\0", 0x20, 1,
                  edtl=8192, write=True)
    s += data_out(0x20, 1, 0, b"\x11" * 4096, datasn=0, final=False)
    s += data_out(0x20, 1, 4096, b"\x22" * 4096, datasn=1)
    s += tmf(1, 0x21, 2, rtt=0x20, ref_cmdsn=1)
    s += tmf(5, 0x22, 2)
    s += scsi_cmd(b"\x28\0" + be32(0) + b"\0" + be16(16) + b"\0", 0x23, 2,
                  edtl=8192, read=True)
    s += logout(0x24, 3)
    write("login", "r2t_dataout_tmf", s)
    # login continued across PDUs (C bit)
    half = len(ONE_STAGE) // 2
    write("login", "continued_text",
          login(ONE_STAGE[:half], 1, 3, transit=False, cont=True) +
          login(ONE_STAGE[half:], 1, 3, itt=1) + logout(2, 1))


def seeds_ffp():
    # After fuzz_ffp's fixed login: ExpCmdSN is 1, TTTs start at 1.
    cmds, itt, sn = ffp_commands()
    write("ffp", "io_logout", cmds + logout(itt, sn))
    s = scsi_cmd(b"\x2a\0" + be32(0) + b"\0" + be16(16) + b"\0", 0x20, 1,
                 edtl=8192, write=True, data=b"\x11" * 1024)
    s += data_out(0x20, 0xFFFFFFFF, 1024, b"\x22" * 3072, final=True)
    s += data_out(0x20, 1, 4096, b"\x33" * 4096, datasn=0)
    s += scsi_cmd(b"\x28\0" + be32(0) + b"\0" + be16(128) + b"\0", 0x21, 2,
                  edtl=65536, read=True)
    s += scsi_cmd(b"\x88\0" + be64(0) + be32(256) + b"\0\0", 0x22, 3,
                  edtl=131072, read=True)
    s += nop_out(0x23, 4, b"ping" * 10)
    s += text_req(text((b"SendTargets", b"All")), 0x24, 4)
    s += logout(0x25, 5)
    write("ffp", "write_r2t_read_large", s)
    s = scsi_cmd(b"\x2a\0" + be32(0) + b"\0" + be16(8) + b"\0", 0x30, 1,
                 edtl=4096, write=True)
    s += tmf(1, 0x31, 2, rtt=0x30, ref_cmdsn=1)
    s += tmf(2, 0x32, 2)
    s += tmf(5, 0x33, 2)
    s += scsi_cmd(b"\x00" * 6, 0x34, 3, lun=1)
    s += scsi_cmd(b"\x12\0\0\0\xff\0", 0x35, 5, edtl=255, read=True)
    s += scsi_cmd(b"\x12\0\0\0\xff\0", 0x36, 4, edtl=255, read=True)
    s += scsi_cmd(b"\xa0\0\0\0\0\0" + be32(64) + b"\0\0", 0x37, 6,
                  edtl=64, read=True, imm=True)
    write("ffp", "tmf_out_of_order", s)
    s = b""
    for i, name in enumerate(("mode_sense10", "rsoc_all", "inquiry_vpd83",
                              "unmap", "compare_and_write")):
        cdb, dirn, length = CDBS[name]
        data = cdb_data(name, length) if dirn == 2 else b""
        s += scsi_cmd(cdb, 0x40 + i, 1 + i, edtl=length, read=dirn == 1,
                      write=dirn == 2, data=data)
    write("ffp", "misc_commands", s)


def seeds_pdu():
    def rec(flags, cuts, stream):
        return bytes([flags, len(cuts)]) + b"".join(be16(c) for c in cuts) + \
            stream
    cmds, itt, sn = ffp_commands()
    write("pdu", "login", rec(0x30, [], login_stream(False)))
    write("pdu", "login_cut",
          rec(0x34, [1, 47, 3, 100], login(ONE_STAGE, 1, 3)))
    write("pdu", "commands", rec(0x38, [48, 48, 1000], cmds))
    hd = scsi_cmd(b"\x2a\0" + be32(0) + b"\0" + be16(4) + b"\0", 1, 1,
                  edtl=2048, write=True, data=b"\x42" * 1021)
    b = bytearray(48)
    b[0] = 0x01
    b[1] = 0xC1
    b[32] = 0x7f
    ahs = be16(17) + b"\x01\x00" + b"\x7f" * 16 + b"\0" * 0
    ahs = ahs + b"\0" * (-len(ahs) % 4)
    write("pdu", "digests",
          rec(0x3b, [13, 200],
              pdu(bytearray(hd[:48]), hd[48:48 + 1021], hd=True, dd=True) +
              pdu(b, b"", ahs=ahs, hd=True, dd=True) +
              pdu(bytearray(nop_out(5, 2)[:48]), b"xyz", hd=True, dd=True)))
    write("pdu", "dataout_place",
          rec(0x78, [60], data_out(1, 1, 0, b"\x33" * 4096) +
              data_out(1, 1, 4096, b"\x44" * 70000)))
    write("pdu", "too_long",
          rec(0x00, [], text_req(b"x" * 600, 1, 1) + nop_out(2, 2)))


def main():
    seeds_text_keys()
    seeds_chap()
    seeds_conf()
    seeds_cdb()
    seeds_login()
    seeds_ffp()
    seeds_pdu()
    return 0


if __name__ == "__main__":
    sys.exit(main())
