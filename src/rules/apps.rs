//! App attribution from profiles: server names, DNS names and address ranges.

use crate::rules::model::{AppProfile, Glob};
use std::net::IpAddr;

/// Lookup tables built once from the app profiles of a run.
#[derive(Debug, Clone, Default)]
pub struct AppIndex {
    names: Vec<(Glob, usize)>,
    dns: Vec<(Glob, usize)>,
    nets: Vec<(IpAddr, u8, usize)>,
    ids: Vec<String>,
    signatures: Vec<(String, usize)>,
}

impl AppIndex {
    pub fn new(apps: &[AppProfile]) -> AppIndex {
        let mut ix = AppIndex::default();
        for (i, a) in apps.iter().enumerate() {
            ix.ids.push(a.id.clone());
            ix.names.extend(a.sni.iter().cloned().map(|g| (g, i)));
            ix.dns.extend(a.dns.iter().cloned().map(|g| (g, i)));
            ix.nets.extend(a.ip_ranges.iter().map(|(n, p)| (*n, *p, i)));
            ix.signatures
                .extend(a.signatures.iter().map(|s| (s.clone(), i)));
        }
        ix
    }

    /// App whose SNI globs match a server name (the most specific glob wins:
    /// `*.asm.skype.com` before `*.skype.com`).
    pub fn by_name(&self, name: &str) -> Option<&str> {
        best_glob(&self.names, name).map(|i| self.ids[i].as_str())
    }

    /// App whose DNS globs match a resolved name (most specific glob wins).
    pub fn by_dns(&self, name: &str) -> Option<&str> {
        best_glob(&self.dns, name).map(|i| self.ids[i].as_str())
    }

    /// App whose address ranges contain `ip` (most specific prefix wins).
    pub fn by_ip(&self, ip: IpAddr) -> Option<&str> {
        self.nets
            .iter()
            .filter(|(n, p, _)| in_net(ip, *n, *p))
            .max_by_key(|(_, p, _)| *p)
            .map(|(_, _, i)| self.ids[*i].as_str())
    }

    /// App that declares a wire signature implemented by a dissector.
    pub fn by_signature(&self, signature: &str) -> Option<&str> {
        self.signatures
            .iter()
            .find(|(s, _)| s == signature)
            .map(|(_, i)| self.ids[*i].as_str())
    }
}

/// The matching glob with the most literal characters; the first on ties.
fn best_glob(globs: &[(Glob, usize)], name: &str) -> Option<usize> {
    let name = name.trim_end_matches('.');
    let literal = |g: &Glob| g.text.chars().filter(|c| *c != '*' && *c != '?').count();
    let mut best: Option<(usize, usize)> = None;
    for (g, i) in globs {
        if g.matches(name) && best.is_none_or(|(n, _)| literal(g) > n) {
            best = Some((literal(g), *i));
        }
    }
    best.map(|(_, i)| i)
}

/// Whether `ip` lies in `net/prefix` (address families must agree).
pub fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let p = u32::from(prefix.min(32));
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let p = u32::from(prefix.min(128));
            let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_name_glob_wins() {
        use crate::rules::model::AppProfile;
        let app = |id: &str, sni: &[&str]| AppProfile {
            id: id.into(),
            name: id.into(),
            vendor: None,
            claim: None,
            sni: sni.iter().map(|g| Glob::new(g).unwrap()).collect(),
            dns: sni.iter().map(|g| Glob::new(g).unwrap()).collect(),
            ip_ranges: vec![],
            ports: vec![],
            signatures: vec![],
            stores: vec![],
            source: "t".into(),
        };
        let ix = AppIndex::new(&[
            app("skype", &["*.skype.com"]),
            app("teams", &["*.asm.skype.com"]),
        ]);
        assert_eq!(ix.by_name("eu-api.asm.skype.com"), Some("teams"));
        assert_eq!(ix.by_dns("eu-api.asm.skype.com."), Some("teams"));
        assert_eq!(ix.by_name("login.skype.com"), Some("skype"));
        assert_eq!(ix.by_name("example.org"), None);
    }

    #[test]
    fn networks_match_by_prefix() {
        assert!(in_net(
            "149.154.167.51".parse().unwrap(),
            "149.154.160.0".parse().unwrap(),
            20
        ));
        assert!(!in_net(
            "149.154.176.1".parse().unwrap(),
            "149.154.160.0".parse().unwrap(),
            20
        ));
        assert!(in_net(
            "2001:67c:4e8::1".parse().unwrap(),
            "2001:67c:4e8::".parse().unwrap(),
            48
        ));
        assert!(!in_net(
            "10.0.0.1".parse().unwrap(),
            "2001:db8::".parse().unwrap(),
            0
        ));
        assert!(in_net(
            "10.0.0.1".parse().unwrap(),
            "0.0.0.0".parse().unwrap(),
            0
        ));
    }
}
