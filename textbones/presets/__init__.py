"""Where models come from and go to: handles, downloads, preset files and formats."""
