//! The seat-reduction plan of one SKU, as a pure function of what was read: which
//! subscription to reduce now (CSP inside its 168 h window, R15), which to reduce at renewal
//! (scheduled next-term quantity, re-checked shortly before the renewal), and which only a
//! person can reduce (direct subscriptions, R14). Never plans below the seats in use.

use crate::tenant::{CompanySubscription, PartnerSubscription};
use chrono::{DateTime, Duration, Utc};

/// One subscription of the SKU as read: Partner Center's view for a CSP one, `None` for a
/// direct one (Partner Center answered NotFound).
#[derive(Debug, Clone)]
pub(crate) struct SubInfo {
    pub company: CompanySubscription,
    pub partner: Option<PartnerSubscription>,
    /// Why a subscription that Partner Center did not show is handled as bought directly,
    /// when it is not simply unknown there (no partner configured, the partner refused).
    pub no_partner: Option<String>,
}

impl SubInfo {
    pub fn quantity(&self) -> i64 {
        self.partner
            .as_ref()
            .map_or(self.company.total_licenses, |p| p.quantity)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Act {
    None,
    /// PATCH the quantity down now (inside the window).
    ReduceNow {
        to: i64,
    },
    /// Set (`Some`) or clear (`None`) `scheduledNextTermInstructions.quantity`.
    Schedule {
        to: Option<i64>,
    },
    /// Only the billing admin can do it: publish a recommendation.
    Recommend {
        proposed: i64,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct SubPlan {
    pub sub: SubInfo,
    pub act: Act,
    pub reason: String,
}

/// What the SKU looks like.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seats {
    pub enabled: i64,
    pub consumed: i64,
    pub buffer: i64,
    /// Runs waiting in line for a seat of this SKU (joiners, movers, restores): their seats
    /// are kept too.
    pub waiting: i64,
}

impl Seats {
    /// Seats to keep: in use, the buffer, and one per run waiting for a seat.
    pub fn target(&self) -> i64 {
        self.consumed + self.buffer + self.waiting
    }

    /// Seats above the target (never negative).
    pub fn excess(&self) -> i64 {
        (self.enabled - self.target()).max(0)
    }
}

/// When and how a plan may act.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub now: DateTime<Utc>,
    /// How long before a renewal a scheduled quantity is recomputed (raised or cleared)
    /// rather than only lowered.
    pub recheck: Duration,
    /// `false`: schedule for the renewal even inside the window (the leaver keeps the seat
    /// for a restore until then).
    pub reduce_now: bool,
}

/// The plan for every subscription of one SKU.
pub(crate) fn plan(seats: Seats, subs: &[SubInfo], policy: Policy) -> Vec<SubPlan> {
    let now = policy.now;
    let mut order: Vec<&SubInfo> = subs.iter().collect();
    // reduce-now first, then at renewal, then what only a person can do
    order.sort_by_key(|s| {
        let rank = match &s.partner {
            Some(p) if p.in_reduction_window(now) => 0,
            Some(_) => 1,
            None => 2,
        };
        (rank, s.company.id.clone())
    });
    let mut remaining = seats.excess();
    let mut out = Vec::new();
    for s in order {
        let (act, reason) = one(seats, s, &mut remaining, policy);
        out.push(SubPlan {
            sub: s.clone(),
            act,
            reason,
        });
    }
    out
}

fn one(seats: Seats, s: &SubInfo, remaining: &mut i64, policy: Policy) -> (Act, String) {
    let Policy {
        now,
        recheck,
        reduce_now,
    } = policy;
    if !s.company.is_enabled() {
        return (
            Act::None,
            format!("status {}: its seats are not assignable", s.company.status),
        );
    }
    if s.company.is_trial {
        return (Act::None, "a trial: its seats cost nothing".into());
    }
    let q = s.quantity();
    // Partner Center keeps at least one seat; the last one goes by cancelling.
    let cut = (*remaining).min(q - 1).max(0);
    let free = seats.enabled - seats.consumed;
    let Some(p) = &s.partner else {
        if cut == 0 {
            return (Act::None, nothing(seats, free));
        }
        *remaining -= cut;
        return (
            Act::Recommend { proposed: q - cut },
            format!(
                "{}: no API can lower its seats (R14, see docs/rules.md); the billing admin can go from {q} to {} in the Microsoft 365 admin center ({free} free, buffer {})",
                match &s.no_partner {
                    Some(why) => format!("handled as a direct subscription ({why})"),
                    None => "direct subscription".into(),
                },
                q - cut,
                seats.buffer
            ),
        );
    };
    if p.in_reduction_window(now) && cut > 0 && reduce_now {
        *remaining -= cut;
        let until = p.cancellation_allowed_until_date.unwrap_or(now);
        return (
            Act::ReduceNow { to: q - cut },
            format!(
                "inside the 168 h window after purchase or renewal (until {until}, R15 in docs/rules.md): {q} → {} now ({free} free, buffer {})",
                q - cut,
                seats.buffer
            ),
        );
    }
    *remaining -= cut;
    let desired = q - cut;
    let renewal = p.renewal();
    let within = renewal - now <= recheck;
    let existing = p
        .scheduled_next_term_instructions
        .as_ref()
        .map(|i| i.quantity);
    match existing {
        None if cut == 0 => (Act::None, nothing(seats, free)),
        None if !p.auto_renew_enabled || p.current_product().is_none() => {
            let why = if p.auto_renew_enabled {
                format!(
                    "its offer id `{}` does not name the product to renew into",
                    p.offer_id
                )
            } else {
                "auto-renew is off, so no change can be scheduled for the renewal".into()
            };
            (
                Act::Recommend { proposed: desired },
                format!(
                    "CSP subscription outside its reduction window (R15, see docs/rules.md) and {why}: the partner or billing admin can go from {q} to {desired} at the end of the term ({renewal})"
                ),
            )
        }
        None => {
            let when = if p.in_reduction_window(now) {
                "kept for a restore until the renewal (reduce_now = false)"
            } else {
                "outside the 168 h window (R15, see docs/rules.md)"
            };
            (
                Act::Schedule { to: Some(desired) },
                format!(
                    "{when}: {q} → {desired} scheduled for the renewal on {renewal}, re-checked from {} on",
                    renewal - recheck
                ),
            )
        }
        Some(qs) => {
            // seats the SKU would have after the renewal with the instruction as it stands
            let after = seats.enabled - q + qs;
            if within {
                if desired >= q {
                    (
                        Act::Schedule { to: None },
                        format!(
                            "re-checked before the renewal on {renewal}: no seat to shed any more (scheduled {qs}, {} in use): the scheduled reduction is cleared",
                            seats.consumed
                        ),
                    )
                } else if desired != qs {
                    let how = if desired > qs { "raised" } else { "lowered" };
                    (
                        Act::Schedule { to: Some(desired) },
                        format!(
                            "re-checked before the renewal on {renewal}: {} seats in use, buffer {}: the scheduled quantity is {how} from {qs} to {desired}",
                            seats.consumed, seats.buffer
                        ),
                    )
                } else {
                    (
                        Act::None,
                        format!(
                            "re-checked before the renewal on {renewal}: {qs} scheduled still fits"
                        ),
                    )
                }
            } else if after < seats.consumed {
                (
                    Act::Schedule {
                        to: Some(desired.max(qs)),
                    },
                    format!(
                        "{} seats are in use, more than the {after} the scheduled quantity {qs} would leave at the renewal on {renewal}: raised to {}",
                        seats.consumed,
                        desired.max(qs)
                    ),
                )
            } else if desired < qs {
                (
                    Act::Schedule { to: Some(desired) },
                    format!(
                        "more seats are free: the reduction scheduled for the renewal on {renewal} is lowered from {qs} to {desired}"
                    ),
                )
            } else {
                (
                    Act::None,
                    format!(
                        "{qs} scheduled for the renewal on {renewal}; re-checked from {} on",
                        renewal - recheck
                    ),
                )
            }
        }
    }
}

fn nothing(seats: Seats, free: i64) -> String {
    if seats.waiting > 0 && free <= seats.buffer + seats.waiting {
        format!(
            "{free} free, buffer {}, {} run(s) waiting for a seat: nothing to reduce",
            seats.buffer, seats.waiting
        )
    } else if free <= seats.buffer {
        format!("{free} free, buffer {}: nothing to reduce", seats.buffer)
    } else {
        "the other subscriptions of the SKU take the reduction, or only the last seat is left"
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    /// A subscription of `quantity`; `started` days ago (CSP) or direct.
    fn sub(id: &str, quantity: i64, csp_started_days_ago: Option<i64>) -> SubInfo {
        let company: CompanySubscription = serde_json::from_value(json!({
            "id": id, "commerceSubscriptionId": format!("pc-{id}"), "skuId": "e3",
            "skuPartNumber": "SPE_E3", "status": "Enabled", "totalLicenses": quantity
        }))
        .unwrap();
        let partner = csp_started_days_ago.map(|d| {
            let start = now() - Duration::days(d);
            serde_json::from_value(json!({
                "id": format!("pc-{id}"), "offerId": "P:S:A", "quantity": quantity,
                "effectiveStartDate": start,
                "commitmentEndDate": start + Duration::days(365),
                "cancellationAllowedUntilDate": start + Duration::hours(168),
                "status": "active", "autoRenewEnabled": true, "billingCycle": "monthly",
                "termDuration": "P1Y", "scheduledNextTermInstructions": null
            }))
            .unwrap()
        });
        SubInfo {
            company,
            partner,
            no_partner: None,
        }
    }

    fn with_scheduled(mut s: SubInfo, q: i64) -> SubInfo {
        let p = s.partner.as_mut().unwrap();
        p.scheduled_next_term_instructions = Some(crate::tenant::ScheduledNextTermInstructions {
            product: p.current_product().unwrap(),
            quantity: q,
            custom_term_end_date: None,
        });
        s
    }

    fn acts(seats: Seats, subs: &[SubInfo]) -> Vec<(String, Act)> {
        let policy = Policy {
            now: now(),
            recheck: Duration::days(3),
            reduce_now: true,
        };
        plan(seats, subs, policy)
            .into_iter()
            .map(|p| (p.sub.company.id, p.act))
            .collect()
    }

    const fn seats(enabled: i64, consumed: i64, buffer: i64) -> Seats {
        Seats {
            enabled,
            consumed,
            buffer,
            waiting: 0,
        }
    }

    #[test]
    fn seats_are_kept_for_runs_waiting_in_line() {
        let waiting = Seats {
            waiting: 2,
            ..seats(10, 4, 1)
        };
        assert_eq!(
            acts(waiting, &[sub("a", 10, Some(2))]),
            vec![("a".into(), Act::ReduceNow { to: 7 })]
        );
    }

    #[test]
    fn the_excess_goes_to_the_open_window_first_then_renewal_then_the_admin() {
        let subs = [
            sub("a-direct", 10, None),
            sub("b-closed", 10, Some(30)),
            sub("c-open", 10, Some(2)),
        ];
        // 30 enabled, 8 in use, buffer 2: 20 to shed; the open window keeps 1 seat
        let got = acts(seats(30, 8, 2), &subs);
        assert_eq!(
            got,
            vec![
                ("c-open".into(), Act::ReduceNow { to: 1 }),
                ("b-closed".into(), Act::Schedule { to: Some(1) }),
                ("a-direct".into(), Act::Recommend { proposed: 8 }),
            ]
        );
    }

    #[test]
    fn without_reduce_now_an_open_window_is_scheduled_for_the_renewal() {
        let policy = Policy {
            now: now(),
            recheck: Duration::days(3),
            reduce_now: false,
        };
        let got: Vec<Act> = plan(seats(10, 4, 0), &[sub("a", 10, Some(2))], policy)
            .into_iter()
            .map(|p| p.act)
            .collect();
        assert_eq!(got, vec![Act::Schedule { to: Some(4) }]);
    }

    #[test]
    fn nothing_to_do_when_free_is_within_the_buffer() {
        let got = acts(seats(10, 8, 2), &[sub("a", 10, Some(2))]);
        assert_eq!(got, vec![("a".into(), Act::None)]);
    }

    #[test]
    fn a_scheduled_quantity_below_the_seats_in_use_is_raised_even_far_from_renewal() {
        let s = with_scheduled(sub("a", 10, Some(30)), 5);
        assert_eq!(
            acts(seats(10, 7, 0), std::slice::from_ref(&s)),
            vec![("a".into(), Act::Schedule { to: Some(7) })]
        );
        // far from renewal, a buffer change alone does not move it up...
        assert_eq!(
            acts(seats(10, 5, 1), std::slice::from_ref(&s)),
            vec![("a".into(), Act::None)]
        );
        // ...more free seats move it down
        assert_eq!(
            acts(seats(10, 4, 0), &[s]),
            vec![("a".into(), Act::Schedule { to: Some(4) })]
        );
    }

    #[test]
    fn auto_renew_off_means_a_recommendation() {
        let mut s = sub("a", 10, Some(30));
        s.partner.as_mut().unwrap().auto_renew_enabled = false;
        assert_eq!(
            acts(seats(10, 4, 0), &[s]),
            vec![("a".into(), Act::Recommend { proposed: 4 })]
        );
    }

    #[test]
    fn inactive_and_trial_subscriptions_are_left_alone() {
        let mut off = sub("a", 10, None);
        off.company.status = "Suspended".into();
        let mut trial = sub("b", 10, None);
        trial.company.is_trial = true;
        assert_eq!(
            acts(seats(20, 1, 0), &[off, trial]),
            vec![("a".into(), Act::None), ("b".into(), Act::None)]
        );
    }
}
