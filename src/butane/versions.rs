//! Butane's variants and versions: the Ignition spec each writes, and the fields each schema
//! level knows.

/// Every stable (variant, version) Butane 0.29 translates, with the Ignition spec it writes and
/// the level of Butane's base schema it is built on (`base/v0_N`).
pub const VERSIONS: &[(&str, &str, &str, u8)] = &[
    ("fcos", "1.0.0", "3.0.0", 1),
    ("fcos", "1.1.0", "3.1.0", 2),
    ("fcos", "1.2.0", "3.2.0", 3),
    ("fcos", "1.3.0", "3.2.0", 3),
    ("fcos", "1.4.0", "3.3.0", 4),
    ("fcos", "1.5.0", "3.4.0", 5),
    ("fcos", "1.6.0", "3.5.0", 6),
    ("fcos", "1.7.0", "3.6.0", 7),
    ("flatcar", "1.0.0", "3.3.0", 4),
    ("flatcar", "1.1.0", "3.4.0", 5),
    ("openshift", "4.8.0", "3.2.0", 3),
    ("openshift", "4.9.0", "3.2.0", 3),
    ("openshift", "4.10.0", "3.2.0", 3),
    ("openshift", "4.11.0", "3.2.0", 3),
    ("openshift", "4.12.0", "3.2.0", 3),
    ("openshift", "4.13.0", "3.2.0", 3),
    ("openshift", "4.14.0", "3.4.0", 5),
    ("openshift", "4.15.0", "3.4.0", 5),
    ("openshift", "4.16.0", "3.4.0", 5),
    ("openshift", "4.17.0", "3.4.0", 5),
    ("openshift", "4.18.0", "3.4.0", 5),
    ("openshift", "4.19.0", "3.5.0", 6),
    ("openshift", "4.20.0", "3.5.0", 6),
    ("openshift", "4.21.0", "3.5.0", 6),
    ("openshift", "4.22.0", "3.5.0", 6),
    ("r4e", "1.0.0", "3.3.0", 4),
    ("r4e", "1.1.0", "3.4.0", 5),
    ("fiot", "1.0.0", "3.4.0", 5),
];

pub(super) const TOP: &[(&str, u8)] = &[
    ("variant", 1),
    ("version", 1),
    ("ignition", 1),
    ("storage", 1),
    ("systemd", 1),
    ("passwd", 1),
    ("kernel_arguments", 4),
];
pub(super) const IGNITION: &[(&str, u8)] = &[
    ("config", 1),
    ("timeouts", 1),
    ("security", 1),
    ("proxy", 2),
];
pub(super) const IGNITION_CONFIG: &[(&str, u8)] = &[("merge", 1), ("replace", 1)];
pub(super) const TIMEOUTS: &[(&str, u8)] = &[("http_response_headers", 1), ("http_total", 1)];
pub(super) const SECURITY: &[(&str, u8)] = &[("tls", 1)];
pub(super) const TLS: &[(&str, u8)] = &[("certificate_authorities", 1)];
pub(super) const PROXY: &[(&str, u8)] = &[("http_proxy", 2), ("https_proxy", 2), ("no_proxy", 2)];
pub(super) const RESOURCE: &[(&str, u8)] = &[
    ("source", 1),
    ("inline", 1),
    ("local", 2),
    ("compression", 1),
    ("http_headers", 2),
    ("verification", 1),
];
pub(super) const HEADER: &[(&str, u8)] = &[("name", 2), ("value", 2)];
pub(super) const VERIFICATION: &[(&str, u8)] = &[("hash", 1)];
pub(super) const STORAGE: &[(&str, u8)] = &[
    ("disks", 1),
    ("raid", 1),
    ("filesystems", 1),
    ("files", 1),
    ("directories", 1),
    ("links", 1),
    ("luks", 3),
    ("trees", 2),
];
pub(super) const NODE: &[(&str, u8)] = &[("group", 1), ("overwrite", 1), ("path", 1), ("user", 1)];
pub(super) const FILE: &[(&str, u8)] = &[("append", 1), ("contents", 1), ("mode", 1)];
pub(super) const DIRECTORY: &[(&str, u8)] = &[("mode", 1)];
pub(super) const LINK: &[(&str, u8)] = &[("target", 1), ("hard", 1)];
pub(super) const TREE: &[(&str, u8)] =
    &[("local", 2), ("path", 2), ("file_mode", 7), ("dir_mode", 7)];
pub(super) const OWNER: &[(&str, u8)] = &[("id", 1), ("name", 1)];
pub(super) const SYSTEMD: &[(&str, u8)] = &[("units", 1)];
pub(super) const UNIT: &[(&str, u8)] = &[
    ("name", 1),
    ("enabled", 1),
    ("mask", 1),
    ("contents", 1),
    ("dropins", 1),
    ("contents_local", 5),
];
pub(super) const DROPIN: &[(&str, u8)] = &[("name", 1), ("contents", 1), ("contents_local", 5)];
pub(super) const PASSWD: &[(&str, u8)] = &[("users", 1), ("groups", 1)];
pub(super) const USER: &[(&str, u8)] = &[
    ("name", 1),
    ("password_hash", 1),
    ("ssh_authorized_keys", 1),
    ("uid", 1),
    ("gecos", 1),
    ("home_dir", 1),
    ("no_create_home", 1),
    ("primary_group", 1),
    ("groups", 1),
    ("no_user_group", 1),
    ("no_log_init", 1),
    ("shell", 1),
    ("system", 1),
    ("should_exist", 3),
    ("ssh_authorized_keys_local", 5),
];
pub(super) const GROUP: &[(&str, u8)] = &[
    ("name", 1),
    ("gid", 1),
    ("password_hash", 1),
    ("system", 1),
    ("should_exist", 3),
];
pub(super) const KARGS: &[(&str, u8)] = &[("should_exist", 4), ("should_not_exist", 4)];
pub(super) const METADATA: &[(&str, u8)] = &[("name", 1), ("labels", 1)];
pub(super) const OPENSHIFT: &[(&str, u8)] = &[
    ("kernel_arguments", 1),
    ("extensions", 1),
    ("fips", 1),
    ("kernel_type", 1),
];

// The storage sections modlayer carries over (Butane's base/v0_N schemas), and boot_device.
pub(super) const DISK: &[(&str, u8)] = &[("device", 1), ("partitions", 1), ("wipe_table", 1)];
pub(super) const PARTITION: &[(&str, u8)] = &[
    ("guid", 1),
    ("label", 1),
    ("number", 1),
    ("resize", 3),
    ("should_exist", 1),
    ("size_mib", 1),
    ("start_mib", 1),
    ("type_guid", 1),
    ("wipe_partition_entry", 1),
];
pub(super) const RAID: &[(&str, u8)] = &[
    ("devices", 1),
    ("level", 1),
    ("name", 1),
    ("options", 1),
    ("spares", 1),
];
pub(super) const FILESYSTEM: &[(&str, u8)] = &[
    ("device", 1),
    ("format", 1),
    ("label", 1),
    ("mount_options", 2),
    ("options", 1),
    ("path", 1),
    ("uuid", 1),
    ("wipe_filesystem", 1),
    ("with_mount_unit", 2),
];
pub(super) const LUKS: &[(&str, u8)] = &[
    ("cex", 6),
    ("clevis", 3),
    ("device", 3),
    ("discard", 5),
    ("key_file", 3),
    ("label", 3),
    ("name", 3),
    ("open_options", 5),
    ("options", 3),
    ("uuid", 3),
    ("wipe_volume", 3),
];
pub(super) const CLEVIS: &[(&str, u8)] =
    &[("custom", 3), ("tang", 3), ("threshold", 3), ("tpm2", 3)];
pub(super) const CUSTOM: &[(&str, u8)] = &[("config", 3), ("needs_network", 3), ("pin", 3)];
pub(super) const TANG: &[(&str, u8)] = &[("thumbprint", 3), ("url", 3), ("advertisement", 5)];
pub(super) const CEX: &[(&str, u8)] = &[("enabled", 6)];
pub(super) const BOOT_DEVICE: &[(&str, u8)] = &[("layout", 3), ("luks", 3), ("mirror", 3)];
pub(super) const BOOT_LUKS: &[(&str, u8)] = &[
    ("cex", 6),
    ("discard", 5),
    ("device", 6),
    ("tang", 3),
    ("threshold", 3),
    ("tpm2", 3),
];
pub(super) const MIRROR: &[(&str, u8)] = &[("devices", 3)];
