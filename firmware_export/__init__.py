"""firmware_export"""
