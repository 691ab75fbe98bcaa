"""Offline sandbox for the tutorial: AWS (moto and friends) and Telegram on one machine."""
