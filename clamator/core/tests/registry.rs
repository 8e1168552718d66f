//! `ServiceRegistry`: the registration and lifecycle rules every server shares.

use clamator_core::{ServerError, ServiceBuilder, ServiceRegistry, ServiceTable, State};

fn echo(name: &str) -> ServiceTable {
    ServiceBuilder::new(name).raw_method("echo", |p| async move { Ok(p) }).build().unwrap()
}

#[test]
fn registration_rules_through_the_lifecycle() {
    let registry = ServiceRegistry::new();
    assert_eq!(registry.state(), State::Idle);
    registry.register(echo("a")).unwrap();
    let dup = registry.register(echo("a"));
    assert!(matches!(dup, Err(ServerError::DuplicateService(ref s)) if s == "a"), "{dup:?}");
    assert!(registry.start().unwrap());
    assert!(!registry.start().unwrap(), "idempotent");
    let late = registry.register(echo("b"));
    assert!(matches!(late, Err(ServerError::RegisterAfterStart(ref s)) if s == "b"), "{late:?}");
    assert_eq!(registry.stop(), State::Started);
    assert_eq!(registry.stop(), State::Stopped, "idempotent");
    assert!(matches!(registry.start(), Err(ServerError::Stopped)));
    assert!(matches!(registry.begin_start(), Err(ServerError::Stopped)));
    assert!(matches!(registry.register(echo("c")), Err(ServerError::Stopped)));
    assert_eq!(registry.services().len(), 1);
}

#[test]
fn no_registration_slips_in_while_starting_and_a_failed_start_can_be_retried() {
    let registry = ServiceRegistry::new();
    registry.register(echo("a")).unwrap();
    let services = registry.begin_start().unwrap().unwrap();
    assert_eq!(services.iter().map(ServiceTable::name).collect::<Vec<_>>(), ["a"]);
    // The services were read: a registration now would never be served.
    assert!(matches!(registry.register(echo("b")), Err(ServerError::RegisterAfterStart(_))));
    registry.abort_start();
    assert_eq!(registry.state(), State::Idle, "a failed setup leaves the server idle");
    registry.register(echo("b")).unwrap();
    assert_eq!(registry.begin_start().unwrap().unwrap().len(), 2);
    registry.finish_start().unwrap();
    assert!(registry.is_started());
}

#[test]
fn a_failed_claim_registers_nothing() {
    let registry = ServiceRegistry::new();
    let refused = registry.register_with(echo("a"), |t| Err(ServerError::DuplicateService(t.name().to_owned())));
    assert!(matches!(refused, Err(ServerError::DuplicateService(_))));
    assert!(registry.services().is_empty());
    registry.register(echo("a")).unwrap();
}
