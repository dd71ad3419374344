"""cckpi: streaming monitor of contact-center KPIs against contracted service levels."""
