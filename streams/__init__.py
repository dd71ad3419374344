"""cckpi: streaming monitor of contact-center KPIs against contracted service levels."""

from streams.compiled import choose_core

choose_core()  # before any core module is imported: the compiled core only where it matches its source
