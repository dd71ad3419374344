"""Business calendars: working hours, holidays, make-up days, working-time arithmetic."""
