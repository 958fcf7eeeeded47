/* Live totals of the invoice entry form, computed as the invoices service computes them at
   deposit (EN 16931), shown before depositing. Without script the section stays hidden and the
   service computes the same totals anyway.

   Exact decimal arithmetic: every number is a BigInt scaled by a power of ten ({n, s} is
   n / 10^s), never a float; amounts are rounded half-up (away from zero on ties, as Python's
   ROUND_HALF_UP) to cents once per term:
   - line base = quantity × unit price, rounded to cents; a line discount of p % is
     base × p / 100 rounded; line net (BT-131) = base − discount;
   - BT-106 = Σ line nets;
   - a global allowance/charge is its amount, or p % of BT-106 rounded; BT-107 / BT-108 their sums;
   - per VAT category and rate (S above 0 %, E at 0 %): base (BT-116) = Σ nets − allowances +
     charges at that rate, VAT (BT-117) = base × rate / 100 rounded — on the summed base, never
     per line; BT-110 = Σ VAT;
   - BT-109 = BT-106 − BT-107 + BT-108; BT-112 = BT-109 + BT-110; BT-115 = BT-112 − BT-113. */
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  var panel = document.getElementById("live-totals");
  if (!form || !panel || typeof BigInt !== "function") { return; }

  var MANUAL = "manuel";
  var TEN = BigInt(10);
  var ZERO = BigInt(0);
  var TWO = BigInt(2);
  var HUNDRED = BigInt(100);
  var QUANTITY = /^\d{1,9}(\.\d{1,6})?$/;
  var PRICE = /^\d{1,12}(\.\d{1,6})?$/;
  var RATE = /^\d{1,3}(\.\d{1,6})?$/;
  var MANUAL_RATE = /^\d{1,2}(\.\d{1,2})?$/;          // 0 <= r < 100, 2 decimals at most
  var PERCENTAGE = /^\d{1,3}(\.\d{1,2})?$/;           // 0 < p <= 100, checked below
  var CENTS = /^\d{1,12}(\.\d{1,2})?$/;               // stated amounts, to the cent

  function pow10(k) { var r = BigInt(1); while (k-- > 0) { r *= TEN; } return r; }

  /* What a French user typed, as the portal sends it: spaces dropped, comma read as point. */
  function normalized(text) { return text.replace(/[\s\u00a0\u202f]/g, "").replace(",", "."); }

  /* {n, s} of a decimal text matching pattern; null when it does not. */
  function parse(text, pattern) {
    var value = normalized(text);
    if (!pattern.test(value)) { return null; }
    var parts = value.split(".");
    var fraction = parts[1] || "";
    return { n: BigInt(parts[0] + fraction), s: fraction.length };
  }

  /* n / 10^s rounded half-up to cents: a BigInt of cents. */
  function cents(n, s) {
    if (s <= 2) { return n * pow10(2 - s); }
    var divisor = pow10(s - 2);
    var negative = n < ZERO;
    var magnitude = negative ? -n : n;
    var q = magnitude / divisor;
    if (TWO * (magnitude % divisor) >= divisor) { q += BigInt(1); }
    return negative ? -q : q;
  }

  /* A percentage 0 < p <= 100 (2 decimals at most), as the service takes it; null otherwise. */
  function percentage(text) {
    var found = parse(text, PERCENTAGE);
    if (!found || found.n === ZERO || found.n > HUNDRED * pow10(found.s)) { return null; }
    return found;
  }

  /* cents × percent / 100, rounded to cents. */
  function percentOf(amountCents, percent) {
    return cents(amountCents * percent.n, 2 + percent.s + 2);
  }

  function money(value, currency) {
    var negative = value < ZERO;
    var magnitude = negative ? -value : value;
    var units = (magnitude / HUNDRED).toString();
    var rest = (magnitude % HUNDRED).toString();
    if (rest.length < 2) { rest = "0" + rest; }
    var grouped = units.replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
    var symbol = currency === "" || currency === "EUR" ? "€" : currency;
    return (negative ? "-" : "") + grouped + "," + rest + "\u00a0" + symbol;
  }

  function rateLabel(rate) {
    var text = rate.n.toString();
    while (text.length <= rate.s) { text = "0" + text; }
    var whole = rate.s ? text.slice(0, text.length - rate.s) : text;
    var fraction = rate.s ? text.slice(text.length - rate.s).replace(/0+$/, "") : "";
    return (fraction ? whole + "," + fraction : whole) + " %";
  }

  function rateKey(rate) {
    return cents(rate.n, rate.s).toString();  // rates compared to the hundredth (2 decimals)
  }

  function field(name) {
    var node = form.elements.namedItem(name);
    return node && typeof node.value === "string" ? node.value.trim() : "";
  }

  /* The VAT rate of a row (select, or the number beside "Taux manuel"); null when invalid. */
  function rowRate(prefix) {
    var chosen = field(prefix + "-vat_rate");
    if (chosen === MANUAL) {
      var manual = parse(field(prefix + "-vat_manual"), MANUAL_RATE);
      return manual;
    }
    return parse(chosen, RATE);
  }

  function syncManualInputs() {
    form.querySelectorAll(".rate-cell").forEach(function (cell) {
      var select = cell.querySelector("select.vat-rate");
      var manual = cell.querySelector(".vat-manual");
      if (select && manual) { manual.hidden = select.value !== MANUAL; }
    });
  }

  function compute() {
    var groups = {};
    function group(rate) {
      var key = rateKey(rate);
      if (!groups[key]) { groups[key] = { rate: rate, base: ZERO }; }
      return groups[key];
    }
    var lineTotal = ZERO;
    var rows = form.querySelectorAll("#lines tr.line-row");
    for (var i = 0; i < rows.length; i++) {
      var prefix = "lines-" + i;
      var description = field(prefix + "-description");
      var quantityText = field(prefix + "-quantity");
      var priceText = field(prefix + "-unit_price");
      if (!description && !quantityText && !priceText) { continue; }
      var quantity = parse(quantityText, QUANTITY);
      var price = parse(priceText, PRICE);
      var rate = rowRate(prefix);
      if (!quantity || !price || !rate) { return null; }
      var net = cents(quantity.n * price.n, quantity.s + price.s);
      var discountText = field(prefix + "-discount");
      if (discountText) {
        var discount = percentage(discountText);
        if (!discount) { return null; }
        net -= percentOf(net, discount);
      }
      lineTotal += net;
      group(rate).base += net;
    }
    var allowances = ZERO;
    var charges = ZERO;
    var chargeRows = form.querySelectorAll("#charges tr.charge-row");
    for (var j = 0; j < chargeRows.length; j++) {
      var at = "charges-" + j;
      var amountText = field(at + "-amount");
      var percentText = field(at + "-percentage");
      if (!amountText && !percentText) { continue; }
      var chargeRate = rowRate(at);
      if (!chargeRate) { return null; }
      var amount;
      if (amountText) {
        var stated = parse(amountText, CENTS);
        if (!stated) { return null; }
        amount = cents(stated.n, stated.s);
      } else {
        var percent = percentage(percentText);
        if (!percent) { return null; }
        amount = percentOf(lineTotal, percent);
      }
      if (field(at + "-kind") === "frais") {
        charges += amount;
        group(chargeRate).base += amount;
      } else {
        allowances += amount;
        group(chargeRate).base -= amount;
      }
    }
    var prepaid = ZERO;
    var prepaidText = field("prepaid_amount");
    if (prepaidText) {
      var paid = parse(prepaidText, CENTS);
      if (!paid) { return null; }
      prepaid = cents(paid.n, paid.s);
    }
    var breakdown = Object.keys(groups).map(function (key) { return groups[key]; });
    breakdown.sort(function (a, b) {
      var x = cents(a.rate.n, a.rate.s);
      var y = cents(b.rate.n, b.rate.s);
      return x > y ? -1 : x < y ? 1 : 0;  // highest rate first, as the service lists them
    });
    var vatTotal = ZERO;
    breakdown.forEach(function (entry) {
      entry.vat = percentOf(entry.base, entry.rate);
      vatTotal += entry.vat;
    });
    var netTotal = lineTotal - allowances + charges;
    var gross = netTotal + vatTotal;
    return {
      lineTotal: lineTotal,
      allowances: allowances,
      charges: charges,
      netTotal: netTotal,
      vatTotal: vatTotal,
      gross: gross,
      prepaid: prepaid,
      due: gross - prepaid,
      breakdown: breakdown
    };
  }

  function show(id, text) { document.getElementById(id).textContent = text; }

  function render() {
    syncManualInputs();
    var totals = compute();
    var currency = field("currency").toUpperCase();
    document.getElementById("live-totals-incomplete").hidden = totals !== null;
    var body = document.querySelector("#live-vat tbody");
    while (body.firstChild) { body.removeChild(body.firstChild); }
    var ids = ["live-line-total", "live-allowance-total", "live-charge-total", "live-net-total",
               "live-vat-total", "live-gross-total", "live-prepaid", "live-amount-due"];
    if (totals === null) {
      document.getElementById("live-totals-cap").hidden = true;
      ids.forEach(function (id) { show(id, "—"); });
      return;
    }
    var values = [totals.lineTotal, totals.allowances, totals.charges, totals.netTotal,
                  totals.vatTotal, totals.gross, totals.prepaid, totals.due];
    /* The service's cap (12 integer digits): said here before "Vérifier" refuses it. */
    var cap = pow10(14);  // 10^12 in cents
    var over = values.some(function (v) { return v >= cap || -v >= cap; });
    document.getElementById("live-totals-cap").hidden = !over;
    ids.forEach(function (id, k) { show(id, money(values[k], currency)); });
    totals.breakdown.forEach(function (entry) {
      var row = document.createElement("tr");
      [rateLabel(entry.rate), money(entry.base, currency), money(entry.vat, currency)]
        .forEach(function (text, k) {
          var cell = document.createElement("td");
          if (k > 0) { cell.className = "amount"; }
          cell.textContent = text;
          row.appendChild(cell);
        });
      body.appendChild(row);
    });
  }

  panel.hidden = false;
  form.addEventListener("input", render);
  form.addEventListener("change", render);
  var add = document.getElementById("add-line");
  if (add) { add.addEventListener("click", function () { window.setTimeout(render, 0); }); }
  render();
})();
