"""hargan"""
