"""EN 16931 arithmetic of domain/totals.py."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from chorus_invoices.domain.totals import (
    VatAmount,
    compute_totals,
    format_rate,
    line_net,
    stated_totals,
)
from chorus_platform.errors import InvalidArgument


@pytest.mark.parametrize(
    ("quantity", "unit_price", "net"),
    [
        ("1", "0.005", "0.01"),
        ("1", "0.004999", "0.00"),
        ("3", "0.335", "1.01"),
        ("7", "12.345", "86.42"),
        ("0.5", "0.01", "0.01"),
        ("2.5", "19.99", "49.98"),
        ("1", "0", "0.00"),
        ("1000000", "999999.999999", "999999999999.00"),
    ],
)
def test_line_net_is_rounded_half_up_to_cents(quantity, unit_price, net):
    assert line_net(D(quantity), D(unit_price)) == D(net)
    assert str(line_net(D(quantity), D(unit_price))) == net


def test_vat_is_computed_per_rate_on_the_summed_base_not_per_line():
    # Per line, 0.05 at 10% would give 0.01 (0.005 rounded up) three times = 0.03;
    # on the summed base 0.15 it is 0.015 → 0.02.
    totals = compute_totals([(D("0.05"), D("10"))] * 3)

    assert [(v.base, v.amount) for v in totals.vat_breakdown] == [(D("0.15"), D("0.02"))]
    assert totals.vat_total == D("0.02")


def test_super_reduced_and_reduced_rates_round_half_up():
    totals = compute_totals([(D("10.50"), D("2.1")), (D("18.90"), D("5.5"))])

    # 10.50 × 2.1 % = 0.2205 → 0.22 ; 18.90 × 5.5 % = 1.0395 → 1.04
    assert [(format_rate(v.rate), v.amount) for v in totals.vat_breakdown] == [
        ("5.5", D("1.04")),
        ("2.1", D("0.22")),
    ]
    # 0.50 × 2.1 % = 0.0105 → 0.01 ; 0.10 × 5.5 % = 0.0055 → 0.01 (half-up, not to even)
    small = compute_totals([(D("0.50"), D("2.1")), (D("0.10"), D("5.5"))])
    assert [v.amount for v in small.vat_breakdown] == [D("0.01"), D("0.01")]


def test_totals_add_up_across_several_rates():
    totals = compute_totals(
        [
            (D("100.00"), D("20")),
            (D("50.00"), D("10")),
            (D("33.33"), D("5.5")),
            (D("12.34"), D("2.1")),
            (D("80.00"), D("0")),
            (D("0.01"), D("20")),
        ]
    )

    assert [(format_rate(v.rate), v.base, v.amount) for v in totals.vat_breakdown] == [
        ("20", D("100.01"), D("20.00")),
        ("10", D("50.00"), D("5.00")),
        ("5.5", D("33.33"), D("1.83")),
        ("2.1", D("12.34"), D("0.26")),
        ("0", D("80.00"), D("0.00")),
    ]
    assert totals.net_total == D("275.68")
    assert totals.vat_total == D("27.09")
    assert totals.gross_total == D("302.77") == totals.net_total + totals.vat_total
    assert totals.amount_due == totals.gross_total


def test_rates_written_differently_share_one_breakdown_line():
    totals = compute_totals([(D("10.00"), D("20")), (D("10.00"), D("20.00"))])

    assert len(totals.vat_breakdown) == 1
    assert totals.vat_total == D("4.00")


def test_a_thousand_lines_sum_exactly():
    lines = [(line_net(D("3"), D("0.333")), D("20")) for _ in range(1000)]

    totals = compute_totals(lines)

    # each line: 0.999 → 1.00; base 1000.00; VAT 200.00
    assert totals.net_total == D("1000.00")
    assert totals.vat_total == D("200.00")
    assert totals.gross_total == D("1200.00")


def test_rates_are_written_without_trailing_zeros():
    assert [format_rate(D(r)) for r in ("20.00", "5.50", "2.1", "0.00", "10")] == [
        "20",
        "5.5",
        "2.1",
        "0",
        "10",
    ]


def test_largest_lines_are_exact_before_rounding():
    # The exact product is ...838.414999959010; rounded to the default 28 significant digits
    # first, it would become ...838.4150000 and then, wrongly, ...838.42.
    net = line_net(D("200529795.782935"), D("887262696958.542446"))

    assert net == D("177922607426912659838.41")


def vat(rate: str, base: str, amount: str):
    return VatAmount(D(rate), D(base), D(amount))


def test_stated_totals_that_add_up_are_kept_highest_rate_first():
    totals = stated_totals(
        D("139.20"), D("22.16"), D("161.36"), [vat("5.5", "39.20", "2.16"), vat("20", "100", "20")]
    )
    assert [v.rate for v in totals.vat_breakdown] == [D("20"), D("5.5")]
    assert (totals.gross_total, totals.amount_due) == (D("161.36"), D("161.36"))


NOT_CENTS = ["net_total", "gross_total", "net_total"]


@pytest.mark.parametrize(
    ("net", "vat_total", "gross", "breakdown", "fields"),
    [
        ("100.00", "20.00", "121.00", [("20", "100.00", "20.00")], ["gross_total"]),
        ("100.00", "20.00", "120.00", [("20", "90.00", "18.00")], ["net_total", "vat_total"]),
        ("100.00", "19.00", "119.00", [("20", "100.00", "19.00")], ["vat_breakdown[0].amount"]),
        ("100.00", "7.00", "107.00", [("7.001", "100.00", "7.00")], ["vat_breakdown[0].rate"]),
        ("100.00", "100.00", "200.00", [("100", "100.00", "100.00")], ["vat_breakdown[0].rate"]),
        ("100.001", "20.00", "120.001", [("20", "100.00", "20.00")], NOT_CENTS),
        ("100.00", "0.00", "100.00", [], ["vat_breakdown"]),
        (
            "200.00",
            "40.00",
            "240.00",
            [("20", "100.00", "20.00"), ("20", "100.00", "20.00")],
            ["vat_breakdown[1].rate"],
        ),
    ],
)
def test_stated_totals_that_do_not_add_up_are_refused_field_by_field(
    net, vat_total, gross, breakdown, fields
):
    with pytest.raises(InvalidArgument) as raised:
        stated_totals(D(net), D(vat_total), D(gross), [vat(*v) for v in breakdown])
    assert raised.value.reason == "TOTALS_INCONSISTENT"
    assert [v.field for v in raised.value.violations] == fields
