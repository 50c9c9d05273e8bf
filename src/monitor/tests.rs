//! The monitor's decisions, without sockets or a kernel.

use super::*;

fn config() -> Config {
    let uplink = |name: &str, id: u32| Uplink {
        name: name.to_owned(),
        mark: id << 8,
        interface: format!("up-{id}"),
        address: Ipv4Addr::new(192, 0, 2, id as u8),
        probe: vec![Ipv4Addr::new(192, 0, 2, 100 + id as u8)],
    };
    Config {
        generator: "switchyard test".to_owned(),
        host: "net1".to_owned(),
        table: "switchyard".to_owned(),
        set: "down_uplinks".to_owned(),
        interval_ms: 200,
        down_after: 3,
        up_after: 5,
        uplink_mark_mask: 0xff00,
        uplinks: vec![uplink("isp-a", 1), uplink("isp-b", 2), uplink("isp-c", 3)],
        movable: vec![
            Movable {
                uplinks: vec!["isp-a".to_owned(), "isp-b".to_owned()],
                sources: vec!["10.0.0.4/31".parse().unwrap()],
            },
            Movable {
                uplinks: vec!["isp-a".to_owned(), "isp-c".to_owned()],
                sources: vec!["10.0.0.8/32".parse().unwrap()],
            },
        ],
    }
}

#[test]
fn an_uplink_goes_down_after_down_after_failed_rounds_in_a_row() {
    let mut monitor = Monitor::new(config());
    assert_eq!(monitor.observe(0, false), None);
    assert_eq!(monitor.observe(0, false), None);
    // A good round in between starts the count again.
    assert_eq!(monitor.observe(0, true), None);
    assert_eq!(monitor.observe(0, false), None);
    assert_eq!(monitor.observe(0, false), None);
    assert_eq!(
        monitor.observe(0, false),
        Some(Transition {
            uplink: 0,
            up: false
        })
    );
    assert!(!monitor.is_up(0));
    assert_eq!(monitor.observe(0, false), None);
    assert_eq!(monitor.down_marks(), BTreeSet::from([0x100]));
}

#[test]
fn a_down_uplink_comes_back_after_up_after_good_rounds_in_a_row() {
    let mut monitor = Monitor::new(config());
    for _ in 0..3 {
        monitor.observe(1, false);
    }
    assert!(!monitor.is_up(1));
    for _ in 0..4 {
        assert_eq!(monitor.observe(1, true), None);
    }
    assert_eq!(monitor.observe(1, false), None);
    for _ in 0..4 {
        assert_eq!(monitor.observe(1, true), None);
    }
    assert_eq!(
        monitor.observe(1, true),
        Some(Transition {
            uplink: 1,
            up: true
        })
    );
    assert!(monitor.down_marks().is_empty());
}

#[test]
fn the_set_script_flushes_and_adds_in_one_transaction() {
    let mut monitor = Monitor::new(config());
    assert_eq!(
        monitor.set_script(),
        "flush set inet switchyard down_uplinks\n"
    );
    for _ in 0..3 {
        monitor.observe(0, false);
        monitor.observe(2, false);
    }
    assert_eq!(
        monitor.set_script(),
        "flush set inet switchyard down_uplinks\n\
         add element inet switchyard down_uplinks { 0x00000100, 0x00000300 }\n"
    );
}

#[test]
fn connections_move_only_from_sources_with_a_live_alternative() {
    let mut monitor = Monitor::new(config());
    for _ in 0..3 {
        monitor.observe(0, false);
    }
    let sources = |monitor: &Monitor, uplink| -> Vec<String> {
        monitor
            .conntrack_deletions(uplink)
            .into_iter()
            .map(|args| {
                assert_eq!(
                    args[..5],
                    [
                        "-D",
                        "--mark",
                        &format!("{:#x}/0xff00", (uplink + 1) << 8),
                        "--src-nat",
                        "--orig-src"
                    ]
                );
                args[5].clone()
            })
            .collect()
    };
    assert_eq!(sources(&monitor, 0), ["10.0.0.4/31", "10.0.0.8/32"]);
    // isp-c down too: the second group has no live alternative left.
    for _ in 0..3 {
        monitor.observe(2, false);
    }
    assert_eq!(sources(&monitor, 0), ["10.0.0.4/31"]);
    // isp-b is in no group with isp-c: nothing of isp-c's moves.
    assert_eq!(sources(&monitor, 2), Vec::<String>::new());
}

#[test]
fn the_kernel_set_is_read_from_nft_json() {
    let json = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"set": {"family": "inet", "name": "down_uplinks", "table": "switchyard", "type": "mark", "handle": 4, "elem": [256, 768]}}]}"#;
    assert_eq!(parse_set(json), Ok(BTreeSet::from([256, 768])));
    let empty =
        r#"{"nftables": [{"metainfo": {}}, {"set": {"name": "down_uplinks", "type": "mark"}}]}"#;
    assert_eq!(parse_set(empty), Ok(BTreeSet::new()));
    assert!(parse_set("Error: No such file or directory").is_err());
}

#[test]
fn the_config_round_trips_through_json() {
    let json = serde_json::to_string(&config()).unwrap();
    assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), config());
}
