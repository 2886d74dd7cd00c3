"""Closed-loop reporting: funnel, velocity, source quality, attribution, scorecards, goals, claim check."""
