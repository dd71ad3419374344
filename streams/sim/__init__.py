"""Simulator of realistic contact-center traffic."""
